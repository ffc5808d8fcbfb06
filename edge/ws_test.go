package edge

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

func TestWSOps(t *testing.T) { forEachWS(t, testWSOps) }

func testWSOps(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, nil, nil)
	c := dialWS(t, cl.edge.Addrs().WS)
	c.auth(token(123, "k-ws", []string{"live://1000"}, 1000))

	c.send(protocol.OpHeartbeat, 42, nil)
	if got := fmt.Sprintf("%x", c.readMsg()); got != "0000001400100001000000030000002a00000001" {
		t.Fatalf("heartbeat reply %s", got)
	}
	c.send(protocol.OpChangeRoom, 45, []byte("live://2000"))
	if got := fmt.Sprintf("%x", c.readMsg()); got != "0000001b001000010000000d0000002d"+fmt.Sprintf("%x", "live://2000") {
		t.Fatalf("change room reply %s", got)
	}
	c.send(protocol.OpSub, 50, []byte("1001"))
	if f := c.read(); f.Op != protocol.OpSubReply || string(f.Body) != "1001" {
		t.Fatalf("sub reply %+v", f)
	}
	c.send(protocol.OpUnsub, 51, []byte("1001"))
	if f := c.read(); f.Op != protocol.OpUnsubReply || string(f.Body) != "1001" {
		t.Fatalf("unsub reply %+v", f)
	}
	c.send(protocol.OpJoinRoom, 52, []byte("live://3000"))
	if f := c.read(); f.Op != protocol.OpJoinRoomReply || string(f.Body) != "live://3000" {
		t.Fatalf("join reply %+v", f)
	}
	c.send(protocol.OpLeaveRoom, 53, []byte("live://3000"))
	if f := c.read(); f.Op != protocol.OpLeaveRoomReply || string(f.Body) != "live://3000" {
		t.Fatalf("leave reply %+v", f)
	}
	c.send(1000, 54, []byte("up"))
	if f := c.read(); f.Op != 1000 || f.Seq != 54 || len(f.Body) != 0 {
		t.Fatalf("upstream reply %+v", f)
	}

	// Room batch over WebSocket: one message, outer op-9 header + inner
	// frames, byte for byte as goim's JavaScript client expects.
	if _, err := cl.rpc.PushRoom(context.Background(), &edge.PushRoomReq{Room: "live://2000", Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte("r1")}, {Op: 1000, Body: []byte("r2")}}}); err != nil {
		t.Fatal(err)
	}
	want := "00000034001000010000000900000000" +
		"0000001200100001000003e800000000" + fmt.Sprintf("%x", "r1") +
		"0000001200100001000003e800000000" + fmt.Sprintf("%x", "r2")
	if got := fmt.Sprintf("%x", c.readMsg()); got != want {
		t.Fatalf("room batch on ws\n got %s\nwant %s", got, want)
	}
	// Keys push: a plain frame.
	if _, err := cl.rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"k-ws"}, Op: 1000, Body: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	if f := c.read(); f.Op != 1000 || f.Seq != 0 || string(f.Body) != "k" {
		t.Fatalf("keys push %+v", f)
	}
	// Ping → pong.
	pong := make(chan string, 1)
	c.c.SetPongHandler(func(d string) error { pong <- d; return nil })
	if err := c.c.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	c.send(protocol.OpHeartbeat, 1, nil)
	c.read() // the reader runs the pong handler while reading this
	select {
	case d := <-pong:
		if d != "p1" {
			t.Fatalf("pong %q", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
}

func TestWSBadInputClosesOnlyThatConnection(t *testing.T) {
	forEachWS(t, testWSBadInputClosesOnlyThatConnection)
}

func testWSBadInputClosesOnlyThatConnection(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, nil, nil)
	addr := cl.edge.Addrs().WS
	bystander := dialWS(t, addr)
	bystander.auth(token(9, "k-ws-bystander", nil))

	lying := protocol.AppendFrame(nil, 1, protocol.OpChangeRoom, 1, []byte("live://x"))
	binary.BigEndian.PutUint32(lying, 100) // claims 100 bytes, carries 24
	short := protocol.AppendFrame(nil, 1, protocol.OpChangeRoom, 1, []byte("live://x"))
	binary.BigEndian.PutUint32(short, 20) // claims fewer bytes than sent
	badHeader := protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 1, nil)
	binary.BigEndian.PutUint16(badHeader[4:], 12)
	tests := []struct {
		name    string
		authed  bool
		payload []byte
	}{
		{"garbage before auth", false, []byte("hello there, not a frame")},
		{"first frame not auth", false, protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 1, nil)},
		{"auth refused", false, protocol.AppendFrame(nil, 1, protocol.OpAuth, 1, []byte(`not json`))},
		{"lying length, longer than the message", true, lying},
		{"lying length, shorter than the message", true, short},
		{"header length not 16", true, badHeader},
		{"oversized message", true, protocol.AppendFrame(nil, 1, 1000, 1, make([]byte, protocol.MaxBodySize+1))},
		{"unknown op", true, protocol.AppendFrame(nil, 1, 11, 1, nil)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialWS(t, addr)
			if tt.authed {
				c.auth(token(int64(i), fmt.Sprint("k-ws-bad-", i), nil))
			}
			c.write(tt.payload)
			c.expectClosed()
		})
	}
	bystander.send(protocol.OpHeartbeat, 5, nil)
	if f := bystander.read(); f.Op != protocol.OpHeartbeatReply || f.Seq != 5 {
		t.Fatalf("bystander heartbeat %+v", f)
	}
	// Largest legal frame still passes.
	bystander.send(1000, 6, make([]byte, protocol.MaxBodySize))
	if f := bystander.read(); f.Op != 1000 || f.Seq != 6 {
		t.Fatalf("max frame reply %+v", f)
	}
}

func TestWSHandshakeTimeoutAndServerPing(t *testing.T) {
	forEachWS(t, testWSHandshakeTimeoutAndServerPing)
}

func testWSHandshakeTimeoutAndServerPing(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, func(c *Config) {
		c.HandshakeTimeout = 300 * time.Millisecond
		c.WSPingInterval = 100 * time.Millisecond
	}, nil)
	addr := cl.edge.Addrs().WS
	silent := dialWS(t, addr)
	silent.expectClosed()

	c := dialWS(t, addr)
	c.auth(token(1, "k-ping", nil))
	ping := make(chan struct{}, 1)
	c.c.SetPingHandler(func(string) error {
		select {
		case ping <- struct{}{}:
		default:
		}
		return nil
	})
	go func() {
		_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := c.c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-ping:
	case <-time.After(5 * time.Second):
		t.Fatal("no ping from the shared ticker")
	}
}

// TestWSSlowReaderIsClosed: a WebSocket device that stops reading is
// closed by the write timeout while a healthy one gets every push.
func TestWSSlowReaderIsClosed(t *testing.T) { forEachWS(t, testWSSlowReaderIsClosed) }

func testWSSlowReaderIsClosed(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, func(c *Config) {
		c.WriteTimeout = 300 * time.Millisecond
		c.SendQueue = 256
	}, nil)
	addr := cl.edge.Addrs().WS
	slow := dialWS(t, addr)
	slow.auth(token(1, "k-ws-slow", []string{"live://ws-slow"}))
	fast := dialWS(t, addr)
	fast.auth(token(2, "k-ws-fast", []string{"live://ws-slow"}))
	const pushes = 300
	body := make([]byte, 64<<10)
	done := make(chan error, 1)
	go func() {
		n := 0
		for n < pushes {
			_ = fast.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, msg, err := fast.c.ReadMessage()
			if err != nil {
				done <- fmt.Errorf("fast member after %d pushes: %w", n, err)
				return
			}
			f, err := protocol.DecodeMessage(msg, len(msg))
			if err != nil || f.Op != protocol.OpRaw {
				done <- fmt.Errorf("fast member: op %d, %v", f.Op, err)
				return
			}
			_ = protocol.SplitRaw(f.Body, func(protocol.Frame) error { n++; return nil })
		}
		done <- nil
	}()
	for range pushes {
		if _, err := cl.rpc.PushRoom(context.Background(), &edge.PushRoomReq{Room: "live://ws-slow", Msgs: []*edge.RoomMsg{{Op: 1000, Body: body}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	eventually(t, "slow websocket reader to be closed", func() bool { return cl.edge.Stats().Conns == 1 })
}

// TestWSGoimExampleBrowserClient replays goim-example's
// examples/javascript/client.js: its token carries mid as a string, with
// spaces after the commas, and every frame it sends has seq 1. The json
// auth mode takes it, and pushes reach it by key and by room.
func TestWSGoimExampleBrowserClient(t *testing.T) { forEachWS(t, testWSGoimExampleBrowserClient) }

func testWSGoimExampleBrowserClient(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, nil, nil)
	c := dialWS(t, cl.edge.Addrs().WS)
	mid := "123"
	tok := `{"mid":"` + mid + `","key":"123456` + mid + `", "room_id":"live://1000", "platform":"web", "accepts":[1000,1001,1002]}`
	c.send(protocol.OpAuth, 1, []byte(tok))
	if got := fmt.Sprintf("%x", c.readMsg()); got != "00000010001000010000000800000001" {
		t.Fatalf("auth reply %s", got)
	}
	c.send(protocol.OpHeartbeat, 1, nil)
	if f := c.read(); f.Op != protocol.OpHeartbeatReply || f.Seq != 1 || len(f.Body) != 4 {
		t.Fatalf("heartbeat reply %+v", f)
	}
	if _, err := cl.rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"123456123"}, Op: 1000, Body: []byte("to-key")}); err != nil {
		t.Fatal(err)
	}
	if f := c.read(); f.Op != 1000 || string(f.Body) != "to-key" {
		t.Fatalf("keys push %+v", f)
	}
	if _, err := cl.rpc.PushRoom(context.Background(), &edge.PushRoomReq{Room: "live://1000", Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte("to-room")}}}); err != nil {
		t.Fatal(err)
	}
	want := "00000027001000010000000900000000" + "0000001700100001000003e800000000" + fmt.Sprintf("%x", "to-room")
	if got := fmt.Sprintf("%x", c.readMsg()); got != want {
		t.Fatalf("room batch\n got %s\nwant %s", got, want)
	}
}
