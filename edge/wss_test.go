package edge

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/gorilla/websocket"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	logicclient "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/protocol"
)

// writeCert writes a fresh self-signed certificate for 127.0.0.1 with the
// given serial to dir/cert.pem and dir/key.pem and returns it.
func writeCert(t *testing.T, dir string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "goim-edge test"},
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
	// Write beside and rename, as rotation tools do, so a reader never
	// sees half a file.
	for name, block := range map[string]*pem.Block{
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: kder},
	} {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestWSSServesGoimOverTLS: the wss port speaks the same protocol as the
// ws port (auth, heartbeat, room push) to a client that verifies the
// certificate.
func TestWSSServesGoimOverTLS(t *testing.T) {
	forEachWS(t, testWSSServesGoimOverTLS)
}

func testWSSServesGoimOverTLS(t *testing.T, transport string) {
	dir := t.TempDir()
	cert := writeCert(t, dir, 1)
	cl := newClusterWS(t, transport, func(c *Config) {
		c.WSSAddr = "127.0.0.1:0"
		c.TLSCertFile, c.TLSKeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	}, nil)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: &tls.Config{RootCAs: roots}}
	conn, _, err := d.Dial("wss://"+cl.edge.Addrs().WSS+"/sub", nil)
	if err != nil {
		t.Fatalf("dial wss: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &wsClient{t: t, c: conn}
	c.auth(token(7, "k-tls", []string{"live://tls"}))

	c.send(protocol.OpHeartbeat, 2, nil)
	if f := c.read(); f.Op != protocol.OpHeartbeatReply || f.Seq != 2 {
		t.Fatalf("heartbeat reply op %d seq %d", f.Op, f.Seq)
	}
	if _, err := cl.rpc.PushRoom(context.Background(), &edge.PushRoomReq{Room: "live://tls", Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte("over tls")}}}); err != nil {
		t.Fatal(err)
	}
	// A room push is an OpRaw batch on WebSocket: outer header, then the
	// inner frame.
	f := c.read()
	if f.Op != protocol.OpRaw {
		t.Fatalf("room push op %d, want OpRaw", f.Op)
	}
	var inner []string
	err = protocol.SplitRaw(f.Body, func(f protocol.Frame) error { inner = append(inner, string(f.Body)); return nil })
	if err != nil || len(inner) != 1 || inner[0] != "over tls" {
		t.Fatalf("room push body %q (%v)", f.Body, err)
	}

	// The plain port still serves plain WebSocket.
	plain := dialWS(t, cl.edge.Addrs().WS)
	plain.auth(token(8, "k-plain", nil))
}

func TestWSSRefusesBadCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Node = "edge-test"
	cfg.TCPAddr, cfg.WSAddr, cfg.RPCAddr, cfg.WSSAddr = "127.0.0.1:0", "", "", "127.0.0.1:0"
	cfg.TLSCertFile, cfg.TLSKeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// Start fails before any call to logic; the client is never used.
	lcli, err := logicclient.NewClient("goim.logic", client.WithHostPorts("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, lcli)
	if err != nil {
		t.Fatal(err)
	}
	err = e.Start()
	if err == nil {
		_ = e.Shutdown(context.Background())
		t.Fatal("Start with unreadable certificate files succeeded")
	}
	if !strings.Contains(err.Error(), "tls") {
		t.Fatalf("error %q does not say it is about TLS", err)
	}
}

// TestCertFilesReload: a rotated pair is served after the check interval;
// a broken one keeps the last good certificate.
func TestCertFilesReload(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, 1)
	c, err := loadCertFiles(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	c.every = 0
	serial := func() int64 {
		t.Helper()
		got, err := c.get(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(got.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber.Int64()
	}
	if s := serial(); s != 1 {
		t.Fatalf("serial %d, want 1", s)
	}
	// Same mtime granularity guard: make sure the stamp changes.
	time.Sleep(10 * time.Millisecond)
	writeCert(t, dir, 2)
	if s := serial(); s != 2 {
		t.Fatalf("after rotation serial %d, want 2", s)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s := serial(); s != 2 {
		t.Fatalf("after a broken rotation serial %d, want the last good one (2)", s)
	}
}
