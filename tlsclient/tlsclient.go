// Package tlsclient is the TLS setting every backend connection shares
// (Redis, etcd, Kafka): which CA to trust, the client certificate to show
// when the server asks for one, and the name to verify. Files are read at
// start; a setting that cannot work fails the start rather than falling
// back to plain text.
package tlsclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Config is one backend's [*.tls] table.
type Config struct {
	// Enabled dials the backend over TLS.
	Enabled bool `toml:"enabled"`
	// CAFile is a PEM bundle of the CAs to trust; empty: the system pool.
	CAFile string `toml:"ca_file"`
	// CertFile and KeyFile are the client certificate and key (PEM), for
	// servers that authenticate clients by certificate; both or neither.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// ServerName overrides the name verified in the server's certificate
	// (default: the host dialled).
	ServerName string `toml:"server_name"`
	// InsecureSkipVerify accepts any server certificate: for tests only,
	// and logged as such by whoever uses it.
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
}

// Validate reports settings that cannot work, without reading files.
func (c Config) Validate() error {
	if !c.Enabled {
		if c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "" || c.InsecureSkipVerify {
			return errors.New("tls: settings given but enabled = false")
		}
		return nil
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("tls: cert_file and key_file go together")
	}
	return nil
}

// Load builds the tls.Config, or nil when TLS is off.
func (c Config) Load() (*tls.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.Enabled {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // InsecureSkipVerify is the operator's explicit choice
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: ca_file %s holds no PEM certificate", c.CAFile)
		}
		t.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}
