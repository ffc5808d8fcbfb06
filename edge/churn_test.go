package edge

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

// TestChurnDuringRoomBroadcast opens and closes 1,000 connections (TCP and
// WebSocket) in a room while pushes stream into it; members that stay must
// get every push in order, and nothing may be left behind.
//
// Churners close with replies unread, so the kernel resets the connection
// and the client port is free at once: the next connection often reuses
// it, and the server's file descriptor too. That once let a writer's
// close race the poller's and end a new device before its auth reply
// (see tcpConn.close).
func TestChurnDuringRoomBroadcast(t *testing.T) {
	forEachWS(t, testChurnDuringRoomBroadcast)
}

func testChurnDuringRoomBroadcast(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, func(c *Config) { c.SendQueue = 4096 }, nil)
	addrs := cl.edge.Addrs()
	const (
		room     = "live://churn"
		stable   = 10
		churners = 1000
		workers  = 8
		pushes   = 300
	)
	var members []*tcpClient
	for i := range stable {
		c := dialTCP(t, addrs.TCP)
		c.auth(token(int64(i), fmt.Sprint("stable-", i), []string{room}))
		members = append(members, c)
	}

	stop := make(chan struct{})
	var pushed atomic.Int32
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range pushes {
			_, err := cl.rpc.PushRoom(context.Background(), &edge.PushRoomReq{Room: room, Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte(strconv.Itoa(i))}}})
			if err != nil {
				t.Errorf("push %d: %v", i, err)
				return
			}
			pushed.Add(1)
			if i%20 == 0 {
				if _, err := cl.rpc.Broadcast(context.Background(), &edge.BroadcastReq{Op: 2000, Body: []byte("b")}); err != nil {
					t.Errorf("broadcast: %v", err)
				}
			}
			time.Sleep(time.Millisecond)
		}
	})
	var opened atomic.Int32
	for w := range workers {
		wg.Go(func() {
			for i := w; i < churners; i += workers {
				key := fmt.Sprint("churn-", i)
				tok := token(int64(1000+i), key, []string{room, "live://other"}, 2000)
				if i%2 == 0 {
					c := dialTCP(t, addrs.TCP)
					c.auth(tok)
					c.send(protocol.OpHeartbeat, 1, nil)
					if i%4 == 0 {
						c.send(protocol.OpLeaveRoom, 2, []byte(room))
					}
					_ = c.c.Close()
				} else {
					c := dialWS(t, addrs.WS)
					c.auth(tok)
					c.send(protocol.OpChangeRoom, 1, []byte("live://elsewhere"))
					_ = c.c.Close()
				}
				opened.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	if opened.Load() != churners {
		t.Fatalf("opened %d churning connections", opened.Load())
	}

	// Every stable member got every room push, in order (broadcasts with
	// op 2000 are not in their accept set).
	for i, c := range members {
		for want := range int(pushed.Load()) {
			f := c.read()
			if f.Op != 1000 || string(f.Body) != strconv.Itoa(want) {
				t.Fatalf("member %d: got op %d %q, want push %d", i, f.Op, f.Body, want)
			}
		}
	}
	eventually(t, "churned connections to be gone", func() bool {
		st := cl.edge.Stats()
		r := cl.edge.room(room)
		return st.Conns == stable && st.Rooms == 1 && r != nil && r.count() == stable
	})
	if n := len(cl.edge.wheel.all()); n != stable {
		t.Fatalf("%d sessions in the deadline wheel, want %d", n, stable)
	}
}
