package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// Etcd starts a private single-member etcd for the test and stops it at
// cleanup. Its data dir survives Stop/Start, so restart tests see the same
// cluster.
func Etcd(tb testing.TB) *Server {
	tb.Helper()
	return EtcdTLS(tb, nil)
}

// EtcdTLS is Etcd serving clients over TLS with certs' server
// certificate and requiring a client certificate signed by certs' CA
// (nil certs: plain HTTP, as Etcd).
func EtcdTLS(tb testing.TB, certs *Certs) *Server {
	tb.Helper()
	client, peer := FreePort(tb), FreePort(tb)
	s := &Server{
		Name: "etcd",
		Addr: fmt.Sprintf("127.0.0.1:%d", client),
		Dir:  tb.TempDir(),
		bin:  lookBinary(tb, "etcd"),
	}
	scheme := "http"
	if certs != nil {
		scheme = "https"
	}
	clientURL := scheme + "://" + s.Addr
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	s.args = func() []string {
		args := []string{
			"--name", "test", "--data-dir", s.Dir + "/data",
			"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
			"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", "test=" + peerURL, "--initial-cluster-state", "new",
			"--log-level", "error",
		}
		if certs != nil {
			args = append(args, "--cert-file", certs.ServerCert, "--key-file", certs.ServerKey,
				"--trusted-ca-file", certs.CAFile, "--client-cert-auth")
		}
		return args
	}
	s.ready = func(addr string) error { return etcdHealthy(scheme, addr, certs) }
	return s.startOrFail(tb)
}

func etcdHealthy(scheme, addr string, certs *Certs) error {
	c := http.Client{Timeout: time.Second}
	if certs != nil {
		t, err := certs.ClientTLS()
		if err != nil {
			return err
		}
		c.Transport = &http.Transport{TLSClientConfig: t}
	}
	resp, err := c.Get(scheme + "://" + addr + "/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd /health: %d %s", resp.StatusCode, body)
	}
	return nil
}

// ClientTLS is a client configuration trusting the CA and showing the
// client certificate.
func (c *Certs) ClientTLS() (*tls.Config, error) {
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// ServerTLS is a server configuration with the server certificate that
// asks clients for a certificate only if they have one.
func (c *Certs) ServerTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.ServerCert, c.ServerKey)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
