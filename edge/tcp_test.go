package edge

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

func TestTCPOps(t *testing.T) {
	cl := newCluster(t, nil, nil)
	addr := cl.edge.Addrs().TCP
	c := dialTCP(t, addr)
	c.auth(token(123, "k-ops", []string{"live://1000"}, 1000))

	// Heartbeat: op 3, seq echoed, 4-byte count of the room (1 device).
	c.send(protocol.OpHeartbeat, 42, nil)
	if got := fmt.Sprintf("%x", c.readRaw(20)); got != "0000001400100001000000030000002a00000001" {
		t.Fatalf("heartbeat reply %s", got)
	}
	// Change room: reply echoes the new room id.
	c.send(protocol.OpChangeRoom, 45, []byte("live://2000"))
	if got := fmt.Sprintf("%x", c.readRaw(27)); got != "0000001b001000010000000d0000002d"+fmt.Sprintf("%x", "live://2000") {
		t.Fatalf("change room reply %s", got)
	}
	if cl.edge.room("live://1000") != nil || cl.edge.room("live://2000").count() != 1 {
		t.Fatal("change room did not move the connection")
	}
	// Sub / unsub echo their bodies and change the accept set.
	c.send(protocol.OpSub, 50, []byte("1001,1002"))
	if f := c.read(); f.Op != protocol.OpSubReply || f.Seq != 50 || string(f.Body) != "1001,1002" {
		t.Fatalf("sub reply %+v", f)
	}
	c.send(protocol.OpUnsub, 51, []byte("1000"))
	if f := c.read(); f.Op != protocol.OpUnsubReply || f.Seq != 51 || string(f.Body) != "1000" {
		t.Fatalf("unsub reply %+v", f)
	}
	// Multi-room extension.
	c.send(protocol.OpJoinRoom, 60, []byte("live://3000"))
	if f := c.read(); f.Op != protocol.OpJoinRoomReply || f.Seq != 60 || string(f.Body) != "live://3000" {
		t.Fatalf("join reply %+v", f)
	}
	c.send(protocol.OpLeaveRoom, 61, []byte("live://2000"))
	if f := c.read(); f.Op != protocol.OpLeaveRoomReply || f.Seq != 61 || string(f.Body) != "live://2000" {
		t.Fatalf("leave reply %+v", f)
	}
	rooms, err := cl.rpc.Rooms(context.Background(), &edge.RoomsReq{})
	if err != nil || len(rooms.Rooms) != 1 || rooms.Rooms["live://3000"] != 1 {
		t.Fatalf("Rooms = %v, %v; want live://3000:1", rooms, err)
	}
	// Upstream message: goim echoes op and seq with an empty body.
	c.send(protocol.OpSendMsg, 70, []byte("hello"))
	if f := c.read(); f.Op != protocol.OpSendMsg || f.Seq != 70 || len(f.Body) != 0 {
		t.Fatalf("send reply %+v", f)
	}
	// Ver is echoed too.
	c.write(protocol.AppendFrame(nil, 3, protocol.OpHeartbeat, 71, nil))
	if f := c.read(); f.Ver != 3 || f.Op != protocol.OpHeartbeatReply || f.Seq != 71 {
		t.Fatalf("heartbeat reply with ver 3: %+v", f)
	}

	// Keys push honours the accept set (1001 subscribed, 1000 not).
	for _, op := range []int32{1000, 1001} {
		resp, err := cl.rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"k-ops"}, Op: op, Body: []byte(fmt.Sprint("key", op))})
		if err != nil {
			t.Fatal(err)
		}
		if want := int32(map[int32]int32{1000: 0, 1001: 1}[op]); resp.Delivered != want {
			t.Fatalf("op %d delivered %d, want %d", op, resp.Delivered, want)
		}
	}
	if f := c.read(); f.Op != 1001 || f.Ver != 1 || f.Seq != 0 || string(f.Body) != "key1001" {
		t.Fatalf("keys push %+v", f)
	}
	// Room push: TCP gets the inner frames of the batch, no op-9 header.
	resp, err := cl.rpc.PushRoom(context.Background(), &edge.PushRoomReq{Room: "live://3000", Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte("r1")}, {Op: 1000, Body: []byte("r2")}}})
	if err != nil || resp.Members != 1 {
		t.Fatalf("PushRoom = %v, %v", resp, err)
	}
	want := "000000120010000100000" + "3e800000000" + fmt.Sprintf("%x", "r1") + "000000120010000100000" + "3e800000000" + fmt.Sprintf("%x", "r2")
	if got := fmt.Sprintf("%x", c.readRaw(36)); got != want {
		t.Fatalf("room push on tcp %s, want %s", got, want)
	}
	// Broadcast honours accepts too.
	b, err := cl.rpc.Broadcast(context.Background(), &edge.BroadcastReq{Op: 1002, Body: []byte("all")})
	if err != nil || b.Connections != 1 {
		t.Fatalf("Broadcast = %v, %v", b, err)
	}
	if f := c.read(); f.Op != 1002 || string(f.Body) != "all" {
		t.Fatalf("broadcast %+v", f)
	}
	if st := cl.edge.Stats(); st.Conns != 1 || st.IPs != 1 || st.Rooms != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTCPAuthTokenRooms(t *testing.T) {
	cl := newCluster(t, nil, nil)
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.auth(token(1, "k-rooms", []string{"live://1", "live://2"}))
	for _, id := range []string{"live://1", "live://2"} {
		if r := cl.edge.room(id); r == nil || r.count() != 1 {
			t.Fatalf("not in room %s from the token", id)
		}
	}
	// Both rooms reach it, each as its own batch.
	for _, id := range []string{"live://1", "live://2"} {
		if _, err := cl.rpc.PushRoom(context.Background(), &edge.PushRoomReq{Room: id, Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte(id)}}}); err != nil {
			t.Fatal(err)
		}
		if f := c.read(); f.Op != 1000 || string(f.Body) != id {
			t.Fatalf("push to %s: %+v", id, f)
		}
	}
}

func TestTCPBadInputClosesOnlyThatConnection(t *testing.T) {
	cl := newCluster(t, func(c *Config) { c.ReadTimeout = 500 * time.Millisecond }, nil)
	addr := cl.edge.Addrs().TCP
	bystander := dialTCP(t, addr)
	bystander.auth(token(9, "k-bystander", nil))

	header := func(packLen uint32, headerLen uint16, op int32) []byte {
		b := binary.BigEndian.AppendUint32(nil, packLen)
		b = binary.BigEndian.AppendUint16(b, headerLen)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, uint32(op))
		return binary.BigEndian.AppendUint32(b, 1)
	}
	tests := []struct {
		name    string
		authed  bool
		payload []byte
	}{
		{"garbage before auth", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"first frame not auth", false, protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 1, nil)},
		{"auth refused", false, protocol.AppendFrame(nil, 1, protocol.OpAuth, 1, []byte(`{"mid":"12a"}`))},
		{"header length not 16", true, header(20, 12, protocol.OpHeartbeat)},
		{"oversized frame", true, append(header(protocol.MaxPackSize+1, 16, 1000), make([]byte, protocol.MaxPackSize+1-16)...)},
		{"pack length below header", true, header(8, 16, protocol.OpHeartbeat)},
		{"lying length, never completed", true, append(header(100, 16, protocol.OpChangeRoom), "live://x"...)},
		{"unknown op", true, protocol.AppendFrame(nil, 1, 10, 1, nil)},
		{"server op from client", true, protocol.AppendFrame(nil, 1, protocol.OpHeartbeatReply, 1, nil)},
		{"second auth", true, protocol.AppendFrame(nil, 1, protocol.OpAuth, 1, token(1, "again", nil))},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialTCP(t, addr)
			if tt.authed {
				c.auth(token(int64(i), fmt.Sprint("k-bad-", i), []string{"live://bad"}))
			}
			c.write(tt.payload)
			c.expectClosed()
		})
	}
	// The bystander still works.
	bystander.send(protocol.OpHeartbeat, 5, nil)
	if f := bystander.read(); f.Op != protocol.OpHeartbeatReply || f.Seq != 5 {
		t.Fatalf("bystander heartbeat %+v", f)
	}
	eventually(t, "bad connections to be unpublished", func() bool { return cl.edge.Stats().Conns == 1 })
}

func TestTCPFramesSplitAndCoalesced(t *testing.T) {
	cl := newCluster(t, nil, nil)
	c := dialTCP(t, cl.edge.Addrs().TCP)
	auth := protocol.AppendFrame(nil, 1, protocol.OpAuth, 7, token(1, "k-split", nil))
	// Byte by byte.
	for i := range auth {
		c.write(auth[i : i+1])
		time.Sleep(time.Millisecond)
	}
	c.readRaw(16)
	// Many frames in one write.
	var many []byte
	for i := range 50 {
		many = protocol.AppendFrame(many, 1, protocol.OpHeartbeat, int32(i), nil)
	}
	c.write(many)
	for i := range 50 {
		if f := c.read(); f.Op != protocol.OpHeartbeatReply || f.Seq != int32(i) {
			t.Fatalf("reply %d: %+v", i, f)
		}
	}
}

// TestTCPHandshakeAndHeartbeatTimeouts: a connection that never
// authenticates is closed after the handshake timeout, an authenticated
// one that says nothing after its heartbeat deadline, and one that
// heartbeats well within the deadline stays open past several deadlines.
func TestTCPHandshakeAndHeartbeatTimeouts(t *testing.T) {
	const deadline = 2 * time.Second // logic's heartbeat × heartbeat_max
	cl := newCluster(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond },
		func(c *logicsvc.Config) { c.Heartbeat = deadline; c.HeartbeatMax = 1 })
	addr := cl.edge.Addrs().TCP
	silent := dialTCP(t, addr)
	start := time.Now()
	silent.expectClosed()
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("closed after %v, before the handshake timeout", d)
	}

	idle := dialTCP(t, addr)
	idle.auth(token(1, "k-idle", nil))
	alive := dialTCP(t, addr)
	alive.auth(token(2, "k-alive", nil))
	authed := time.Now()
	// idle says nothing: the edge closes it (the poll's bound is generous,
	// it only catches a deadline never enforced).
	idleEnded := make(chan error, 1)
	go func() {
		_, err := idle.tryRead(15 * time.Second)
		idleEnded <- err
	}()
	// alive heartbeats every 200 ms, a tenth of its deadline, until idle
	// is closed and two deadlines have passed since its auth: a
	// deliberate wait, long enough that an unrenewed deadline would have
	// closed it.
	idleClosed := false
	for i := int32(0); !idleClosed || time.Since(authed) < 2*deadline; i++ {
		select {
		case err := <-idleEnded:
			var ne net.Error
			if err == nil {
				t.Fatal("idle connection got a frame, want it closed")
			} else if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("idle connection still open 15 s after its auth (heartbeat deadline %v)", deadline)
			}
			idleClosed = true
		case <-time.After(200 * time.Millisecond):
			alive.send(protocol.OpHeartbeat, i, nil)
			if f := alive.read(); f.Op != protocol.OpHeartbeatReply || f.Seq != i {
				t.Fatalf("heartbeat %d: reply %+v", i, f)
			}
		}
	}
}

func TestTCPSameKeyReplacesOlder(t *testing.T) {
	cl := newCluster(t, nil, nil)
	addr := cl.edge.Addrs().TCP
	old := dialTCP(t, addr)
	old.auth(token(1, "k-same", []string{"live://same"}, 1000))
	newer := dialTCP(t, addr)
	newer.auth(token(1, "k-same", []string{"live://same"}, 1000))
	old.expectClosed()
	eventually(t, "one member", func() bool { r := cl.edge.room("live://same"); return r != nil && r.count() == 1 })
	// The newer connection's reader replaced the older one during its
	// auth; once it has answered a later frame, that replacement (and any
	// Disconnect it would send to logic) has been started, and bg.Wait
	// sees it through.
	newer.send(protocol.OpHeartbeat, 2, nil)
	if f := newer.read(); f.Op != protocol.OpHeartbeatReply {
		t.Fatalf("heartbeat answered op %d", f.Op)
	}
	cl.edge.bg.Wait()
	// The route still points here: the older connection did not remove it.
	servers, err := cl.store.ServersByKeys(context.Background(), []string{"k-same"})
	if err != nil || servers["k-same"] != "edge-test" {
		t.Fatalf("route of k-same = %v, %v; want it on edge-test", servers, err)
	}
	resp, err := cl.rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"k-same"}, Op: 1000, Body: []byte("x")})
	if err != nil || resp.Delivered != 1 {
		t.Fatalf("PushKeys = %v, %v", resp, err)
	}
	newer.read()
	if st := cl.edge.Stats(); st.Conns != 1 {
		t.Fatalf("conns = %d", st.Conns)
	}
}

func TestKickAndDrain(t *testing.T) {
	forEachWS(t, testKickAndDrain)
}

func testKickAndDrain(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, nil, nil)
	addr := cl.edge.Addrs().TCP
	a := dialTCP(t, addr)
	a.auth(token(1, "k-a", nil))
	b := dialTCP(t, addr)
	b.auth(token(2, "k-b", nil))
	k, err := cl.rpc.Kick(context.Background(), &edge.KickReq{Keys: []string{"k-a", "nobody"}})
	if err != nil || k.Kicked != 1 {
		t.Fatalf("Kick = %v, %v", k, err)
	}
	a.expectClosed()
	d, err := cl.rpc.Drain(context.Background(), &edge.DrainReq{Rate: 100})
	if err != nil || d.Connections != 1 {
		t.Fatalf("Drain = %v, %v", d, err)
	}
	b.expectClosed()
	if !cl.edge.Stats().Draining {
		t.Fatal("not draining")
	}
	// New connections are refused, on both transports.
	c := dialTCP(t, addr)
	c.send(protocol.OpAuth, 1, token(3, "k-c", nil))
	c.expectClosed()
	d2 := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if ws, resp, err := d2.Dial("ws://"+cl.edge.Addrs().WS+"/sub", nil); err == nil {
		ws.Close()
		t.Fatal("websocket upgrade accepted while draining")
	} else if resp == nil || resp.StatusCode != 503 {
		t.Fatalf("websocket while draining: %v, %v", resp, err)
	}
}

func TestHeartbeatCountIsClusterWide(t *testing.T) {
	cl := newCluster(t, nil, nil)
	addr := cl.edge.Addrs().TCP
	var cs []*tcpClient
	for i := range 3 {
		c := dialTCP(t, addr)
		c.auth(token(int64(i), fmt.Sprint("k-count-", i), []string{"live://count"}))
		cs = append(cs, c)
	}
	eventually(t, "count 3", func() bool {
		cs[0].send(protocol.OpHeartbeat, 1, nil)
		f := cs[0].read()
		return binary.BigEndian.Uint32(f.Body) == 3
	})
	// Without a room the count is 0.
	cs[1].send(protocol.OpChangeRoom, 2, nil)
	cs[1].read()
	cs[1].send(protocol.OpHeartbeat, 3, nil)
	if f := cs[1].read(); !bytes.Equal(f.Body, []byte{0, 0, 0, 0}) {
		t.Fatalf("roomless heartbeat body %x", f.Body)
	}
}

// TestTCPSlowReaderDoesNotStallOthers: a device that stops reading fills
// its socket, then its queue (drops are counted), then hits the write
// timeout and is closed, while a healthy member gets every push.
func TestTCPSlowReaderDoesNotStallOthers(t *testing.T) {
	// The write timeout outlasts the pushes (a few hundred RPCs), so the
	// slow reader's queue surely overflows before it is closed.
	cl := newCluster(t, func(c *Config) {
		c.WriteTimeout = 2 * time.Second
		c.SendQueue = 16
	}, nil)
	addr := cl.edge.Addrs().TCP
	slow := dialTCP(t, addr)
	slow.auth(token(1, "k-slow", []string{"live://slow"}))
	fast := dialTCP(t, addr)
	fast.auth(token(2, "k-fast", []string{"live://slow"}))
	drops0 := counterValue(t, dropsTotal)
	writeErrors0 := counterValue(t, closesTotal.WithLabelValues("write_error"))

	const pushes = 300
	body := bytes.Repeat([]byte("x"), 64<<10)
	got := make(chan error, 1)
	go func() {
		for i := range pushes {
			f, err := fast.tryRead(10 * time.Second)
			if err != nil {
				got <- fmt.Errorf("fast member, push %d: %w", i, err)
				return
			}
			if f.Op != 1000 || len(f.Body) != len(body) {
				got <- fmt.Errorf("fast member, push %d: op %d, %d bytes", i, f.Op, len(f.Body))
				return
			}
		}
		got <- nil
	}()
	for range pushes {
		if _, err := cl.rpc.PushRoom(context.Background(), &edge.PushRoomReq{Room: "live://slow", Msgs: []*edge.RoomMsg{{Op: 1000, Body: body}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	eventually(t, "slow reader to be closed", func() bool { return cl.edge.Stats().Conns == 1 })
	if counterValue(t, closesTotal.WithLabelValues("write_error")) == writeErrors0 {
		t.Fatal("the slow reader's write timeout was not recorded")
	}
	if d := counterValue(t, dropsTotal) - drops0; d == 0 {
		t.Fatal("no drop counted while the slow reader's queue was full")
	} else {
		t.Logf("drops while the slow reader was stuck: %v", d)
	}
}
