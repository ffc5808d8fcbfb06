package edge

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckEvery bounds how often a handshake looks at the files.
const certCheckEvery = 10 * time.Second

// certFiles serves the WSS certificate from a PEM pair on disk and loads
// it again when either file changes, so a rotated certificate (certbot,
// cert-manager) is used without restarting the edge and dropping every
// device. A pair that fails to load keeps the previous one, logged.
type certFiles struct {
	certPath, keyPath string
	every             time.Duration // certCheckEvery; tests shorten it
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // modification times and sizes of the pair
	checked time.Time
}

// loadCertFiles loads the pair once; a bad pair fails Start.
func loadCertFiles(certPath, keyPath string, log *slog.Logger) (*certFiles, error) {
	c := &certFiles{certPath: certPath, keyPath: keyPath, every: certCheckEvery, log: log}
	stamp, err := c.fileStamp()
	if err != nil {
		return nil, err
	}
	if err := c.load(stamp); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certFiles) fileStamp() (string, error) {
	var stamp string
	for _, p := range []string{c.certPath, c.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("edge: tls: %w", err)
		}
		stamp += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}

func (c *certFiles) load(stamp string) error {
	cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return fmt.Errorf("edge: tls: load %s, %s: %w", c.certPath, c.keyPath, err)
	}
	c.cert, c.stamp, c.checked = &cert, stamp, time.Now()
	return nil
}

// get is tls.Config.GetCertificate.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < c.every {
		return c.cert, nil
	}
	c.checked = time.Now()
	stamp, err := c.fileStamp()
	if err != nil || stamp == c.stamp {
		if err != nil {
			c.log.Warn("edge: tls certificate files unreadable, keeping the loaded one", "err", err)
		}
		return c.cert, nil
	}
	if err := c.load(stamp); err != nil {
		c.log.Warn("edge: tls certificate changed but does not load, keeping the previous one", "err", err)
		c.stamp = stamp // do not retry until the files change again
		return c.cert, nil
	}
	c.log.Info("edge: tls certificate reloaded", "cert", c.certPath)
	return c.cert, nil
}
