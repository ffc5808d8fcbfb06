package testenv

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis starts a private redis-server (no persistence) for the test and
// stops it at cleanup.
func Redis(tb testing.TB) *Server {
	tb.Helper()
	return RedisWith(tb, RedisOptions{})
}

// RedisOptions are the variations of a test redis-server.
type RedisOptions struct {
	// TLS serves only TLS (--port 0 --tls-port) with these certificates;
	// clients need not show a certificate (--tls-auth-clients optional).
	TLS *Certs
	// User and Password add an ACL user with every permission and turn
	// the passwordless default user off, as a secured deployment would.
	User, Password string
	// Args are further redis-server arguments ("--cluster-enabled", "yes").
	Args []string
}

// RedisWith starts a private redis-server with o and stops it at cleanup.
func RedisWith(tb testing.TB, o RedisOptions) *Server {
	tb.Helper()
	s := newRedis(tb, "redis-server", o)
	return s.startOrFail(tb)
}

func newRedis(tb testing.TB, name string, o RedisOptions) *Server {
	tb.Helper()
	port := FreePort(tb)
	s := &Server{
		Name: name,
		Addr: fmt.Sprintf("127.0.0.1:%d", port),
		Dir:  tb.TempDir(),
		bin:  lookBinary(tb, "redis-server"),
	}
	var ca *x509.CertPool
	if o.TLS != nil {
		pem, err := os.ReadFile(o.TLS.CAFile)
		if err != nil {
			tb.Fatalf("testenv: read test CA: %v", err)
		}
		ca = x509.NewCertPool()
		ca.AppendCertsFromPEM(pem)
	}
	s.args = func() []string {
		a := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.Dir, "--protected-mode", "no"}
		if o.TLS != nil {
			a = append(a, "--port", "0", "--tls-port", strconv.Itoa(port),
				"--tls-cert-file", o.TLS.ServerCert, "--tls-key-file", o.TLS.ServerKey,
				"--tls-ca-cert-file", o.TLS.CAFile, "--tls-auth-clients", "optional")
		} else {
			a = append(a, "--port", strconv.Itoa(port))
		}
		if o.User != "" {
			a = append(a, "--user", o.User, "on", ">"+o.Password, "~*", "&*", "+@all", "--user", "default", "off")
		}
		return append(a, o.Args...)
	}
	s.ready = func(addr string) error {
		if ca == nil {
			return redisPing(addr)
		}
		return redisPingTLS(addr, ca)
	}
	return s
}

func redisPingTLS(addr string, ca *x509.CertPool) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 500 * time.Millisecond}, "tcp", addr, &tls.Config{RootCAs: ca, MinVersion: tls.VersionTLS12})
	if err != nil {
		return err
	}
	return ping(c)
}

func redisPing(addr string) error {
	c, err := dial(addr)
	if err != nil {
		return err
	}
	return ping(c)
}

// ping sends PING on c and closes it; a server that wants a password
// (-NOAUTH) is up too.
func ping(c net.Conn) error {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("redis answered %q", line)
	}
	return nil
}
