package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	kitexserver "github.com/cloudwego/kitex/server"
	"github.com/gorilla/websocket"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/auth"
	histmem "github.com/goim-edge/goim-edge/control/logic/history/memory"
	"github.com/goim-edge/goim-edge/control/logic/store/memory"
	qmemory "github.com/goim-edge/goim-edge/control/queue/memory"
	edgeclient "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	logicclient "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/protocol"
	"github.com/goim-edge/goim-edge/rpcauth"
)

// cluster is an edge on loopback ports with the real logic service
// (memory store, JSON auth) behind Kitex, and a Kitex client of the
// edge's RPC service, as job would use it.
type cluster struct {
	edge  *Server
	logic *logicsvc.Logic
	store *memory.Store
	rpc   edgeclient.Client
	// stopLogic stops the logic server (idempotent).
	stopLogic func()
}

func never() <-chan error { return make(chan error) }

// harnessRPCSecret is the rpc secret of the harness edges' Edge service.
const harnessRPCSecret = "edge-harness-rpc-secret"

func newCluster(t testing.TB, mod func(*Config), lmod func(*logicsvc.Config)) *cluster {
	t.Helper()
	return newClusterAuth(t, mod, lmod, auth.DefaultConfig())
}

// newClusterAuth is newCluster with logic authenticating by acfg.
func newClusterAuth(t testing.TB, mod func(*Config), lmod func(*logicsvc.Config), acfg auth.Config) *cluster {
	t.Helper()
	lcfg := logicsvc.DefaultConfig()
	if lmod != nil {
		lmod(&lcfg)
	}
	st := memory.New()
	q := qmemory.New(qmemory.DefaultConfig())
	a, err := auth.New(acfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := logicsvc.Deps{Store: st, Queue: q, Auth: a}
	if lcfg.History.On() {
		deps.History = histmem.New(nil)
	}
	l, err := logicsvc.New(lcfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	lln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lsvr := logicclient.NewServer(l, kitexserver.WithListener(lln), kitexserver.WithExitSignal(never))
	lerr := make(chan error, 1)
	go func() { lerr <- lsvr.Run() }()
	lcli, err := logicclient.NewClient("goim.logic", client.WithHostPorts(lln.Addr().String()), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}

	cfg := DefaultConfig()
	cfg.Node = "edge-test"
	cfg.TCPAddr, cfg.WSAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.RoomBatchWindow = 5 * time.Millisecond
	cfg.TimerTick = 100 * time.Millisecond
	cfg.RenewOnlineInterval = 200 * time.Millisecond
	// Job's calls carry the secret, as in production.
	cfg.RPCAuth = rpcauth.Config{Secret: harnessRPCSecret, MaxPayloadBytes: rpcauth.DefaultMaxPayloadBytes}
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg, lcli)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	rpc, err := edgeclient.NewClient("goim.edge", append(rpcauth.ClientOptions(cfg.RPCAuth.Secret),
		client.WithHostPorts(e.Addrs().RPC), client.WithRPCTimeout(5*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stopLogic := func() { once.Do(func() { _ = lsvr.Stop(); <-lerr }) }
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("edge shutdown: %v", err)
		}
		stopLogic()
		q.Close()
		_ = st.Close()
	})
	return &cluster{edge: e, logic: l, store: st, rpc: rpc, stopLogic: stopLogic}
}

// token is a goim JSON auth body.
func token(mid int64, key string, rooms []string, accepts ...int32) []byte {
	tok := map[string]any{"mid": mid, "key": key, "platform": "test", "accepts": accepts}
	if len(rooms) > 0 {
		tok["room_id"] = rooms[0]
		tok["rooms"] = rooms[1:]
	}
	b, _ := json.Marshal(tok)
	return b
}

// tcpClient speaks goim frames over a plain TCP connection, as goim's
// benchmark client does.
type tcpClient struct {
	t   testing.TB
	c   net.Conn
	buf []byte
}

func dialTCP(t testing.TB, addr string) *tcpClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &tcpClient{t: t, c: c}
}

func (c *tcpClient) send(op, seq int32, body []byte) {
	c.t.Helper()
	c.write(protocol.AppendFrame(nil, 1, op, seq, body))
}

func (c *tcpClient) write(b []byte) {
	c.t.Helper()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame; it fails the test on error or timeout.
func (c *tcpClient) read() protocol.Frame {
	c.t.Helper()
	f, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *tcpClient) tryRead(d time.Duration) (protocol.Frame, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(d))
	f, buf, err := protocol.ReadFrame(c.c, c.buf, 1<<20)
	c.buf = buf
	if err != nil {
		return f, err
	}
	f.Body = append([]byte(nil), f.Body...)
	return f, nil
}

// readRaw reads exactly n bytes.
func (c *tcpClient) readRaw(n int) []byte {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c.c, b); err != nil {
		c.t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// expectClosed waits for the server to close the connection, ignoring
// nothing: any frame that arrives first fails the test.
func (c *tcpClient) expectClosed() {
	c.t.Helper()
	f, err := c.tryRead(5 * time.Second)
	if err == nil {
		c.t.Fatalf("got frame op %d body %q, want the connection closed", f.Op, f.Body)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open: %v", err)
	}
}

// auth sends the token and checks goim's exact auth reply.
func (c *tcpClient) auth(tok []byte) {
	c.t.Helper()
	c.send(protocol.OpAuth, 7, tok)
	got := c.readRaw(16)
	if want := "00000010001000010000000800000007"; fmt.Sprintf("%x", got) != want {
		c.t.Fatalf("auth reply %x, want %s", got, want)
	}
}

// wsClient speaks goim frames over WebSocket, one per binary message.
type wsClient struct {
	t testing.TB
	c *websocket.Conn
}

func dialWS(t testing.TB, addr string) *wsClient {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial("ws://"+addr+"/sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, c: c}
}

func (c *wsClient) send(op, seq int32, body []byte) {
	c.t.Helper()
	c.write(protocol.AppendFrame(nil, 1, op, seq, body))
}

func (c *wsClient) write(b []byte) {
	c.t.Helper()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.c.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readMsg returns the next binary message whole.
func (c *wsClient) readMsg() []byte {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, b, err := c.c.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.BinaryMessage {
		c.t.Fatalf("message type %d, want binary", typ)
	}
	return b
}

func (c *wsClient) read() protocol.Frame {
	c.t.Helper()
	b := c.readMsg()
	f, err := protocol.DecodeMessage(b, len(b))
	if err != nil {
		c.t.Fatalf("decode %x: %v", b, err)
	}
	return f
}

func (c *wsClient) expectClosed() {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.c.ReadMessage()
	if err == nil {
		c.t.Fatalf("got message %x, want the connection closed", b)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open: %v", err)
	}
}

func (c *wsClient) auth(tok []byte) {
	c.t.Helper()
	c.send(protocol.OpAuth, 7, tok)
	if got := fmt.Sprintf("%x", c.readMsg()); got != "00000010001000010000000800000007" {
		c.t.Fatalf("auth reply %s", got)
	}
}
