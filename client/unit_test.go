package client

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

func TestBackoffDelayBounds(t *testing.T) {
	for _, tt := range []struct {
		name   string
		b      Backoff
		n      int
		lo, hi time.Duration
	}{
		{"defaults first", Backoff{}, 0, 100 * time.Millisecond, 3 * time.Second},
		{"defaults capped", Backoff{}, 50, 100 * time.Millisecond, 2 * time.Minute},
		{"custom", Backoff{Min: time.Second, Initial: 2 * time.Second, Max: 5 * time.Second, Factor: 3}, 1, time.Second, 5 * time.Second},
		{"initial below min", Backoff{Min: time.Second, Initial: time.Millisecond}, 0, time.Second, time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b.withDefaults()
			if got := b.Delay(tt.n, 0); got != tt.lo {
				t.Errorf("u=0: %v, want %v", got, tt.lo)
			}
			if got := b.Delay(tt.n, 0.999999999); got > tt.hi || got < tt.hi-time.Millisecond {
				t.Errorf("u→1: %v, want just under %v", got, tt.hi)
			}
		})
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    Options
		want string
	}{
		{"no address", Options{Token: []byte("x")}, "Addrs or NodesURL"},
		{"no token", Options{Addrs: []string{"x:1"}}, "Token"},
		{"bad transport", Options{Addrs: []string{"x:1"}, Token: []byte("x"), Transport: "quic"}, "transport"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Dial(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Dial: %v, want an error about %s", err, tt.want)
			}
		})
	}
}

// testSession is a session whose frames come from the test, not a
// connection: it exercises frame dispatch and batch splitting.
func testSession() (*session, *Client) {
	c := &Client{items: make(chan item, 64), rec: newRecovery(nil)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.o.RequestTimeout = time.Second
	return newSession(c, nil, "test"), c
}

func TestHandleSplitsBatches(t *testing.T) {
	inner := protocol.AppendFrame(nil, 1, 1000, 0, []byte("r1"))
	inner = protocol.AppendFrame(inner, 1, 1001, 0, []byte("r2"))
	for _, tt := range []struct {
		name    string
		f       protocol.Frame
		want    []string // op:body of the messages
		batched bool
		wantErr bool
	}{
		{"plain push", protocol.Frame{Ver: 1, Op: 1000, Body: []byte("p")}, []string{"1000:p"}, false, false},
		{"op-9 batch (WebSocket, or a TCP server that wraps)", protocol.Frame{Ver: 1, Op: protocol.OpRaw, Body: inner}, []string{"1000:r1", "1001:r2"}, true, false},
		{"empty batch", protocol.Frame{Op: protocol.OpRaw}, nil, false, false},
		{"nested batch", protocol.Frame{Op: protocol.OpRaw, Body: protocol.AppendFrame(nil, 1, protocol.OpRaw, 0, inner)}, nil, false, true},
		{"truncated batch", protocol.Frame{Op: protocol.OpRaw, Body: inner[:len(inner)-1]}, []string{"1000:r1"}, true, true},
		{"stray reply", protocol.Frame{Op: protocol.OpJoinRoomReply, Seq: 5}, nil, false, false},
		{"heartbeat reply", protocol.Frame{Op: protocol.OpHeartbeatReply, Body: []byte{0, 0, 0, 7}}, nil, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, c := testSession()
			defer c.cancel()
			err := s.handle(tt.f, false)
			if (err != nil) != tt.wantErr {
				t.Fatalf("handle: %v, want error %v", err, tt.wantErr)
			}
			close(c.items)
			var got []string
			for it := range c.items {
				if it.msg.Batched != tt.batched {
					t.Errorf("%q Batched=%v", it.msg.Body, it.msg.Batched)
				}
				got = append(got, strings.Join([]string{itoa(it.msg.Op), string(it.msg.Body)}, ":"))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("messages %v, want %v", got, tt.want)
			}
		})
	}
}

func itoa(op int32) string { return string(opsBody([]int32{op})) }

func TestRepliesMatchSeqAndOp(t *testing.T) {
	s, c := testSession()
	defer c.cancel()
	ch := make(chan []byte, 1)
	s.pending[42] = call{replyOp: protocol.OpJoinRoomReply, ch: ch}
	// Same seq, other op: not the reply (delivered as nothing, it is a
	// reply op), and the request still waits.
	if err := s.handle(protocol.Frame{Op: protocol.OpLeaveRoomReply, Seq: 42, Body: []byte("x")}, false); err != nil {
		t.Fatal(err)
	}
	if len(ch) != 0 {
		t.Fatal("reply with the wrong op resolved the request")
	}
	if err := s.handle(protocol.Frame{Op: protocol.OpJoinRoomReply, Seq: 42, Body: []byte("chat://1")}, false); err != nil {
		t.Fatal(err)
	}
	if got := <-ch; string(got) != "chat://1" {
		t.Fatalf("reply %q", got)
	}
	if len(s.pending) != 0 {
		t.Fatal("resolved request still pending")
	}
}

func TestReplayLogCompacts(t *testing.T) {
	var l replayLog
	l.room(protocol.OpJoinRoom, "a")
	l.room(protocol.OpJoinRoom, "b")
	l.room(protocol.OpLeaveRoom, "a")
	l.sub([]int32{1, 2}, true)
	l.sub([]int32{2}, false)
	l.sub([]int32{3}, true)
	var got []string
	for _, r := range l.requests() {
		got = append(got, itoa(r.op)+":"+string(r.body))
	}
	want := "22:b,24:a,14:1,3,16:2"
	if strings.Join(got, ",") != want {
		t.Fatalf("replay %v, want %s", got, want)
	}
	l.room(protocol.OpChangeRoom, "c")
	l.room(protocol.OpJoinRoom, "d")
	got = got[:0]
	for _, r := range l.requests() {
		if r.op != protocol.OpSub && r.op != protocol.OpUnsub {
			got = append(got, itoa(r.op)+":"+string(r.body))
		}
	}
	if strings.Join(got, ",") != "12:c,22:d" {
		t.Fatalf("replay after a room change %v", got)
	}
}

// FuzzHandle feeds arbitrary frames (batches above all) to the dispatch:
// it must never panic, and every message it delivers is a frame of the
// input.
func FuzzHandle(f *testing.F) {
	inner := protocol.AppendFrame(nil, 1, 1000, 0, []byte("r1"))
	f.Add(int32(protocol.OpRaw), inner)
	f.Add(int32(protocol.OpRaw), []byte{0, 0, 0, 16, 0, 16})
	f.Add(int32(1000), []byte("x"))
	f.Add(int32(protocol.OpHeartbeatReply), []byte{1})
	f.Fuzz(func(t *testing.T, op int32, body []byte) {
		s, c := testSession()
		defer c.cancel()
		c.items = make(chan item, len(body)/protocol.HeaderLen+2)
		_ = s.handle(protocol.Frame{Op: op, Body: body}, false)
	})
}
