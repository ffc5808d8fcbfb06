package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

func TestLimitedOps(t *testing.T) {
	tests := []struct {
		op   int32
		want bool
	}{
		{protocol.OpHeartbeat, false},
		{protocol.OpSendMsg, true},
		{protocol.OpChangeRoom, true},
		{protocol.OpSub, true},
		{protocol.OpUnsub, true},
		{18, true}, {21, true},
		{protocol.OpJoinRoom, true},
		{protocol.OpLeaveRoom, true},
		{1000, true},
		{protocol.OpAuth, false},
	}
	for _, tt := range tests {
		if got := limitedOp(tt.op); got != tt.want {
			t.Errorf("limitedOp(%d) = %v, want %v", tt.op, got, tt.want)
		}
	}
}

// TestTokenBucket: burst at once, then the rate; refusals past the cap
// within the window are an error, and the window forgets old ones.
func TestTokenBucket(t *testing.T) {
	srv := newUnitServer(t, func(c *Config) { c.UpstreamRate, c.UpstreamBurst, c.UpstreamMaxRefused = 10, 3, 2 })
	s := &session{srv: srv}
	now := int64(time.Hour)
	for i := range 3 {
		if ok, err := s.allowUpstream(now); !ok || err != nil {
			t.Fatalf("frame %d of the burst: %v, %v", i, ok, err)
		}
	}
	if ok, err := s.allowUpstream(now); ok || err != nil {
		t.Fatalf("over the burst: %v, %v; want dropped", ok, err)
	}
	now += int64(100 * time.Millisecond) // one token at 10/s
	if ok, _ := s.allowUpstream(now); !ok {
		t.Fatal("a refilled token was refused")
	}
	if ok, err := s.allowUpstream(now); ok || err != nil {
		t.Fatalf("second refusal: %v, %v; want dropped", ok, err)
	}
	if _, err := s.allowUpstream(now); err == nil {
		t.Fatal("third refusal within the window did not close")
	}
	s.ext.refused = 0
	now += int64(refusedWindow) + 1
	s.ext.tokens = 0
	s.ext.last = now
	if ok, err := s.allowUpstream(now); ok || err != nil {
		t.Fatalf("first refusal of a new window: %v, %v", ok, err)
	}
}

func TestRoomGranted(t *testing.T) {
	grants := []string{"live://1", "chat://*"}
	for id, want := range map[string]bool{
		"live://1": true, "live://2": false, "chat://x": true, "chat://": true, "chatx://1": false, "": false,
	} {
		if got := roomGranted(grants, id); got != want {
			t.Errorf("roomGranted(%q) = %v, want %v", id, got, want)
		}
	}
	if !roomGranted([]string{"*"}, "any://thing") {
		t.Error(`"*" does not grant every room`)
	}
	if roomGranted(nil, "live://1") {
		t.Error("an empty grant list granted a room")
	}
}

// TestUpstreamRateLimit: past its burst a device's upstream frames get
// no reply and no call to logic, heartbeats at a client's pace still
// work, and a device that keeps going is closed as rate_limited.
func TestUpstreamRateLimit(t *testing.T) {
	cl := newCluster(t, func(c *Config) {
		c.UpstreamRate, c.UpstreamBurst, c.UpstreamMaxRefused = 0.001, 3, 5
	}, nil)
	refused0 := counterValue(t, upstreamRefusedTotal)
	closed0 := counterValue(t, closesTotal.WithLabelValues("rate_limited"))
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.auth(token(1, "k-rate", nil, 1000))
	for seq := int32(1); seq <= 3; seq++ {
		c.send(protocol.OpSendMsg, seq, []byte("hi"))
		if f := c.read(); f.Op != protocol.OpSendMsg || f.Seq != seq {
			t.Fatalf("reply to upstream %d: op %d seq %d", seq, f.Op, f.Seq)
		}
	}
	c.send(protocol.OpSendMsg, 4, []byte("over"))
	// A heartbeat at a client's pace (not within heartbeatFreeGap of
	// auth) is answered although the bucket is empty. Sleeping only
	// makes the gap longer, whatever the machine's load.
	time.Sleep(heartbeatFreeGap)
	c.send(protocol.OpHeartbeat, 5, nil)
	if f := c.read(); f.Op != protocol.OpHeartbeatReply || f.Seq != 5 {
		t.Fatalf("after a refused frame got op %d seq %d, want the heartbeat reply (seq 5)", f.Op, f.Seq)
	}
	for seq := int32(6); seq < 11; seq++ {
		c.send(protocol.OpChangeRoom, seq, []byte("live://x"))
	}
	c.expectClosed()
	if got := counterValue(t, upstreamRefusedTotal) - refused0; got != 6 {
		t.Errorf("refused frames counted %v, want 6", got)
	}
	eventually(t, "the rate_limited close to be counted", func() bool {
		return counterValue(t, closesTotal.WithLabelValues("rate_limited"))-closed0 == 1
	})
}

// blockingReceiver is a receive webhook that holds every request until
// release is closed.
func blockingReceiver(t *testing.T) (url string, entered <-chan struct{}, release func()) {
	in := make(chan struct{}, 64)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in <- struct{}{}
		select {
		case <-done:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	closed := false
	rel := func() {
		if !closed {
			closed = true
			close(done)
		}
	}
	t.Cleanup(func() { rel(); srv.Close() })
	return srv.URL, in, rel
}

// TestInputOverflowWhileWaitingForLogic: while a device's message waits
// for logic, the edge holds at most max_input_buffer of its later
// input; more closes the connection (input_overflow).
func TestInputOverflowWhileWaitingForLogic(t *testing.T) {
	url, entered, release := blockingReceiver(t)
	cl := newCluster(t, func(c *Config) {
		c.MaxInputBuffer = 16 << 10
		c.LogicTimeout = time.Minute
	}, func(c *logicsvc.Config) {
		c.Receive.URL, c.Receive.Timeout = url, time.Minute
	})
	over0 := counterValue(t, closesTotal.WithLabelValues("input_overflow"))
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.auth(token(1, "k-overflow", nil))
	c.send(protocol.OpSendMsg, 1, []byte("held by logic"))
	<-entered
	hb := protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 2, nil)
	chunk := make([]byte, 0, 64<<10)
	for len(chunk)+len(hb) <= cap(chunk) {
		chunk = append(chunk, hb...)
	}
	_ = c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for range 8 { // 512 KiB: far past the bound; the edge may hang up meanwhile
		if _, err := c.c.Write(chunk); err != nil {
			break
		}
	}
	eventually(t, "the input_overflow close", func() bool {
		return counterValue(t, closesTotal.WithLabelValues("input_overflow"))-over0 == 1
	})
	release()
	// Whatever replies were written before, the connection ends.
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for {
		if _, err := c.c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("connection still open after input_overflow")
			}
			break
		}
	}
}

// TestWSHalfFrameReadDeadline: a WebSocket frame that starts and stops
// halfway is closed within read_timeout, like a TCP frame.
func TestWSHalfFrameReadDeadline(t *testing.T) {
	forEachWS(t, testWSHalfFrameReadDeadline)
}

func testWSHalfFrameReadDeadline(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond }, nil)
	timeouts0 := counterValue(t, closesTotal.WithLabelValues("read_timeout"))
	c := dialWS(t, cl.edge.Addrs().WS)
	c.auth(token(1, "k-ws-half", nil))
	// A masked binary frame that announces 100 bytes and carries 10.
	half := []byte{0x82, 0x80 | 100, 1, 2, 3, 4}
	half = append(half, make([]byte, 10)...)
	raw := c.c.UnderlyingConn()
	if _, err := raw.Write(half); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, _, err := c.c.ReadMessage(); err == nil {
		t.Fatal("got a message, want the connection closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v", time.Since(start))
	}
	eventually(t, "the read_timeout close", func() bool {
		return counterValue(t, closesTotal.WithLabelValues("read_timeout"))-timeouts0 == 1
	})
}

// TestPerIPCap: past max_conns_per_ip, connections from that address
// are refused (TCP closed, WebSocket 503) and counted; a freed slot is
// taken again. Loopback is exempt by default, so the test lifts that.
func TestPerIPCap(t *testing.T) {
	forEachWS(t, testPerIPCap)
}

func testPerIPCap(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, func(c *Config) { c.MaxConnsPerIP, c.ConnLimitExempt = 2, nil }, nil)
	addrs := cl.edge.Addrs()
	refused := func(kind string) float64 { return counterValue(t, refusedTotal.WithLabelValues(kind, "per_ip")) }
	tcp0, ws0 := refused("tcp"), refused("ws")
	a := dialTCP(t, addrs.TCP)
	a.auth(token(1, "k-ip-a", nil))
	b := dialWS(t, addrs.WS)
	b.auth(token(2, "k-ip-b", nil))
	dialTCP(t, addrs.TCP).expectClosed()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if conn, resp, err := d.Dial("ws://"+addrs.WS+"/sub", nil); err == nil {
		conn.Close()
		t.Fatal("websocket upgrade past the per-IP cap succeeded")
	} else if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("websocket past the per-IP cap: %v, %+v; want 503", err, resp)
	}
	if got := refused("tcp") - tcp0; got != 1 {
		t.Errorf("tcp per_ip refusals %v, want 1", got)
	}
	if got := refused("ws") - ws0; got != 1 {
		t.Errorf("ws per_ip refusals %v, want 1", got)
	}
	_ = a.c.Close()
	eventually(t, "the slot to free", func() bool { return cl.edge.open.Load() == 1 })
	dialTCP(t, addrs.TCP).auth(token(3, "k-ip-c", nil))
}

// TestPerIPCapExemptsLoopbackByDefault: the default exemption lets many
// loopback connections in past the cap (benchmarks, local proxies).
func TestPerIPCapExemptsLoopbackByDefault(t *testing.T) {
	cl := newCluster(t, func(c *Config) { c.MaxConnsPerIP = 1 }, nil)
	for i := range 3 {
		dialTCP(t, cl.edge.Addrs().TCP).auth(token(int64(i), "k-loop-"+string(rune('a'+i)), nil))
	}
}

// TestAcceptRate: past accept_burst with no time to refill, new
// connections are refused and counted.
func TestAcceptRate(t *testing.T) {
	cl := newCluster(t, func(c *Config) { c.AcceptRate, c.AcceptBurst = 0.001, 2 }, nil)
	r0 := counterValue(t, refusedTotal.WithLabelValues("tcp", "accept_rate"))
	dialTCP(t, cl.edge.Addrs().TCP).auth(token(1, "k-acc-a", nil))
	dialTCP(t, cl.edge.Addrs().TCP).auth(token(2, "k-acc-b", nil))
	dialTCP(t, cl.edge.Addrs().TCP).expectClosed()
	if got := counterValue(t, refusedTotal.WithLabelValues("tcp", "accept_rate")) - r0; got != 1 {
		t.Fatalf("accept_rate refusals %v, want 1", got)
	}
}

// jwtCluster is a cluster whose logic verifies HS256 tokens; sign makes
// one for mid with the given claims.
func jwtCluster(t *testing.T) (*cluster, func(mid int64, claims jwt.MapClaims) []byte) {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	key := []byte(hex.EncodeToString(secret))
	path := filepath.Join(t.TempDir(), "jwt.key")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	acfg := auth.DefaultConfig()
	acfg.Mode, acfg.JWT.KeyFile = auth.ModeJWT, path
	cl := newClusterAuth(t, nil, nil, acfg)
	return cl, func(mid int64, claims jwt.MapClaims) []byte {
		claims["sub"] = mid
		claims["exp"] = time.Now().Add(time.Hour).Unix()
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(s)
	}
}

// TestRoomGrantsJWT: a jwt device joins only the rooms its token names
// or grants. A refused op 22 or op 12 gets its reply with an empty body,
// is counted, leaves the connection and its rooms as they were; pushes
// to the refused room do not reach it, its own pushes do.
func TestRoomGrantsJWT(t *testing.T) {
	cl, sign := jwtCluster(t)
	ctx := context.Background()
	ref22 := counterValue(t, roomRefusedTotal.WithLabelValues("22"))
	ref12 := counterValue(t, roomRefusedTotal.WithLabelValues("12"))
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.auth(sign(7, jwt.MapClaims{"key": "k-jwt", "rooms": []string{"live://1"}, "room_grants": []string{"chat://*"}, "accepts": []int{1000}}))

	c.send(protocol.OpJoinRoom, 1, []byte("live://2"))
	if f := c.read(); f.Op != protocol.OpJoinRoomReply || f.Seq != 1 || len(f.Body) != 0 {
		t.Fatalf("join of an ungranted room: op %d seq %d body %q; want op 23, empty body", f.Op, f.Seq, f.Body)
	}
	c.send(protocol.OpChangeRoom, 2, []byte("live://2"))
	if f := c.read(); f.Op != protocol.OpChangeRoomReply || f.Seq != 2 || len(f.Body) != 0 {
		t.Fatalf("change to an ungranted room: op %d seq %d body %q; want op 13, empty body", f.Op, f.Seq, f.Body)
	}
	c.send(protocol.OpJoinRoom, 3, []byte("chat://9"))
	if f := c.read(); f.Op != protocol.OpJoinRoomReply || string(f.Body) != "chat://9" {
		t.Fatalf("join of a granted room: op %d body %q", f.Op, f.Body)
	}
	if got := counterValue(t, roomRefusedTotal.WithLabelValues("22")) - ref22; got != 1 {
		t.Errorf("op 22 refusals counted %v, want 1", got)
	}
	if got := counterValue(t, roomRefusedTotal.WithLabelValues("12")) - ref12; got != 1 {
		t.Errorf("op 12 refusals counted %v, want 1", got)
	}

	// Pushes: the refused room's do not arrive; its own rooms' and its
	// key's do, in order.
	if _, err := cl.rpc.PushRoom(ctx, &edge.PushRoomReq{Room: "live://2", Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte("not for you")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.rpc.PushRoom(ctx, &edge.PushRoomReq{Room: "live://1", Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte("room")}}}); err != nil {
		t.Fatal(err)
	}
	if f := c.read(); string(f.Body) != "room" {
		t.Fatalf("first push received %q, want the live://1 push", f.Body)
	}
	if _, err := cl.rpc.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"k-jwt"}, Op: 1000, Body: []byte("mine")}); err != nil {
		t.Fatal(err)
	}
	if f := c.read(); string(f.Body) != "mine" {
		t.Fatalf("next push received %q, want the key push", f.Body)
	}
	if r := cl.edge.room("live://2"); r != nil {
		t.Fatalf("live://2 has %d members on the edge, want none", r.count())
	}
}

// TestRoomGrantsNoneInJSONMode: json mode keeps goim's behaviour, any
// room may be joined.
func TestRoomGrantsNoneInJSONMode(t *testing.T) {
	cl := newCluster(t, nil, nil)
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.auth(token(1, "k-json-rooms", []string{"live://1"}))
	c.send(protocol.OpChangeRoom, 1, []byte("anything://2"))
	if f := c.read(); string(f.Body) != "anything://2" {
		t.Fatalf("json-mode change room reply %q", f.Body)
	}
}

// TestHeartbeatFlood: heartbeats at a client's pace are free, but a
// device heartbeating back to back pays from the upstream bucket: past
// the burst its heartbeats go unanswered, and it is closed.
func TestHeartbeatFlood(t *testing.T) {
	cl := newCluster(t, func(c *Config) {
		c.UpstreamRate, c.UpstreamBurst, c.UpstreamMaxRefused = 0.001, 5, 3
	}, nil)
	closed0 := counterValue(t, closesTotal.WithLabelValues("rate_limited"))
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.auth(token(1, "k-hb-flood", nil))
	for seq := int32(1); seq <= 5; seq++ {
		c.send(protocol.OpHeartbeat, seq, nil)
		if f := c.read(); f.Op != protocol.OpHeartbeatReply || f.Seq != seq {
			t.Fatalf("heartbeat %d within the burst: op %d seq %d", seq, f.Op, f.Seq)
		}
	}
	for seq := int32(6); seq <= 9; seq++ {
		c.send(protocol.OpHeartbeat, seq, nil)
	}
	c.expectClosed()
	eventually(t, "the rate_limited close", func() bool {
		return counterValue(t, closesTotal.WithLabelValues("rate_limited"))-closed0 == 1
	})
}

func TestFastHeartbeat(t *testing.T) {
	s := &session{}
	s.setHeartbeat(time.Minute)
	now := time.Now()
	s.deadline.Store(now.Add(time.Minute).UnixNano()) // a heartbeat just now
	if !s.fastHeartbeat(now.Add(10 * time.Millisecond)) {
		t.Error("a heartbeat 10ms after the last is not fast")
	}
	if s.fastHeartbeat(now.Add(30 * time.Second)) {
		t.Error("a heartbeat 30s after the last is fast")
	}
}
