package client

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// transports are the ways a client reaches a standalone server.
func transports(s *standalone) []struct{ name, addr string } {
	return []struct{ name, addr string }{{"tcp", s.tcp}, {"ws", s.wsURL()}}
}

func dialInbox(t *testing.T, o Options) (*Client, *inbox) {
	t.Helper()
	b := newInbox()
	o.OnMessage, o.OnState = b.onMessage, b.onState
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, o)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c, b
}

func TestPushesOverBothTransports(t *testing.T) {
	s := startStandalone(t)
	for i, tr := range transports(s) {
		t.Run(tr.name, func(t *testing.T) {
			mid := int64(100 + i)
			key := "dev-" + tr.name
			room := "live://" + strconv.Itoa(2000+i)
			c, b := dialInbox(t, Options{
				Addrs: []string{tr.addr},
				Token: JSONToken{Mid: mid, Key: key, RoomID: room, Platform: "test", Accepts: []int32{1000, 1001}}.Bytes(),
			})
			if c.State() != Connected || c.Addr() != tr.addr {
				t.Fatalf("state %v addr %q after Dial", c.State(), c.Addr())
			}
			httpPush(t, s.http, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {strconv.FormatInt(mid, 10)}}, "by-mid")
			b.expect(t, 1000, "by-mid")
			httpPush(t, s.http, "/goim/push/keys", url.Values{"operation": {"1001"}, "keys": {key}}, "by-key")
			b.expect(t, 1001, "by-key")
			httpPush(t, s.http, "/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {strconv.Itoa(2000 + i)}}, "by-room")
			m := b.expect(t, 1002, "by-room")
			if m.Ver != 1 || m.Seq != 0 || m.Addr != tr.addr {
				t.Fatalf("room push %+v", m)
			}

			// One RPC with three messages leaves the edge as one batch:
			// one op-9 WebSocket message, or three plain frames on TCP.
			pushRoomBatch(t, s.edgeRPC, room, 1003, "b1", "b2", "b3")
			b.waitFor(t, 10*time.Second, "batch", func(msgs []Message, _ []Event) bool {
				var got []string
				for _, m := range msgs {
					if m.Op == 1003 {
						if m.Batched != (tr.name == "ws") {
							t.Errorf("%s: message %q Batched=%v", tr.name, m.Body, m.Batched)
						}
						got = append(got, string(m.Body))
					}
				}
				if len(got) == 3 && (got[0] != "b1" || got[1] != "b2" || got[2] != "b3") {
					t.Fatalf("batch arrived as %q, want b1 b2 b3 in order", got)
				}
				return len(got) == 3
			})

			// Upstream send: op 4 and a business op are answered.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Send(ctx, []byte("hello")); err != nil {
				t.Fatalf("send: %v", err)
			}
			if err := c.SendOp(ctx, 1500, []byte("biz")); err != nil {
				t.Fatalf("send op 1500: %v", err)
			}
			if err := c.SendOp(ctx, 12, nil); err == nil {
				t.Fatal("SendOp(12) was accepted as an upstream op")
			}
			if _, err := c.Heartbeat(ctx); err != nil {
				t.Fatalf("heartbeat: %v", err)
			}

			// Accept set: op 1005 reaches the mid only after Sub, and not
			// after Unsub.
			if err := c.Sub(ctx, 1005); err != nil {
				t.Fatalf("sub: %v", err)
			}
			httpPush(t, s.http, "/goim/push/mids", url.Values{"operation": {"1005"}, "mids": {strconv.FormatInt(mid, 10)}}, "subbed")
			b.expect(t, 1005, "subbed")
			if err := c.Unsub(ctx, 1005); err != nil {
				t.Fatalf("unsub: %v", err)
			}
			httpPush(t, s.http, "/goim/push/mids", url.Values{"operation": {"1005"}, "mids": {strconv.FormatInt(mid, 10)}}, "unsubbed")
			httpPush(t, s.http, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {strconv.FormatInt(mid, 10)}}, "marker")
			b.expect(t, 1000, "marker")
			b.mu.Lock()
			for _, m := range b.msgs {
				if string(m.Body) == "unsubbed" {
					t.Errorf("op 1005 delivered after Unsub")
				}
			}
			b.mu.Unlock()

			// Rooms: join a second room, change to a third, leave it.
			other := "chat://" + tr.name
			if err := c.JoinRoom(ctx, other); err != nil {
				t.Fatalf("join: %v", err)
			}
			httpPush(t, s.http, "/goim/push/room", url.Values{"operation": {"1002"}, "type": {"chat"}, "room": {tr.name}}, "joined")
			b.expect(t, 1002, "joined")
			httpPush(t, s.http, "/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {strconv.Itoa(2000 + i)}}, "still-in-first")
			b.expect(t, 1002, "still-in-first")
			if err := c.LeaveRoom(ctx, other); err != nil {
				t.Fatalf("leave: %v", err)
			}
			if err := c.ChangeRoom(ctx, "live://x"+tr.name); err != nil {
				t.Fatalf("change room: %v", err)
			}
			httpPush(t, s.http, "/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {"x" + tr.name}}, "changed")
			b.expect(t, 1002, "changed")

			closeClient(t, c)
			if !errors.Is(c.Err(), ErrClosed) {
				t.Fatalf("Err after Close: %v", c.Err())
			}
			if err := c.Send(ctx, nil); !errors.Is(err, ErrNotConnected) {
				t.Fatalf("send after Close: %v, want ErrNotConnected", err)
			}
		})
	}
}
