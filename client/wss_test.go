package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
)

// writeCert writes a self-signed certificate for 127.0.0.1 to dir and
// returns it.
func writeCert(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "goim-edge client test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: kder},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestWSS(t *testing.T) {
	dir := t.TempDir()
	cert := writeCert(t, dir)
	wss := "127.0.0.1:" + itoa(int32(testenv.FreePort(t)))
	s := startStandalone(t, "-set", "edge.wss_addr="+wss,
		"-set", "edge.tls_cert_file="+filepath.Join(dir, "cert.pem"),
		"-set", "edge.tls_key_file="+filepath.Join(dir, "key.pem"))
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	c, b := dialInbox(t, Options{
		Addrs:     []string{"wss://" + wss + "/sub"},
		Token:     JSONToken{Mid: 44, Key: "tls", RoomID: "live://tls", Accepts: []int32{1000}}.Bytes(),
		TLSConfig: &tls.Config{RootCAs: roots},
	})
	httpPush(t, s.http, "/goim/push/keys", url.Values{"operation": {"1000"}, "keys": {"tls"}}, "over-tls")
	b.expect(t, 1000, "over-tls")
	httpPush(t, s.http, "/goim/push/room", url.Values{"operation": {"1000"}, "type": {"live"}, "room": {"tls"}}, "room-over-tls")
	if m := b.expect(t, 1000, "room-over-tls"); !m.Batched {
		t.Fatal("room push over wss was not an op-9 batch")
	}
	closeClient(t, c)
}
