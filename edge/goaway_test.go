package edge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

// TestDrainDeliversUntilEachDeviceLeaves: while an edge drains paced,
// pushes to each device keep coming over RPC, and every push the edge
// took (Delivered 1) reaches its device before that device's connection
// ends; WebSocket devices get close code 1001, and then the edge holds no
// sessions. The push loop is one push at a time per device (the next
// once the previous arrived), so the count does not depend on speed.
func TestDrainDeliversUntilEachDeviceLeaves(t *testing.T) {
	forEachWS(t, testDrainDeliversUntilEachDeviceLeaves)
}

func testDrainDeliversUntilEachDeviceLeaves(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, nil, nil)
	const perTransport = 4
	type device struct {
		name string
		key  string
		// next returns the next push body, or an error once the
		// connection ended (closeCode: the WebSocket close code, 0 for TCP).
		next func() (string, int, error)
	}
	var devs []device
	for i := range perTransport {
		key := fmt.Sprint("k-drain-tcp-", i)
		c := dialTCP(t, cl.edge.Addrs().TCP)
		c.auth(token(int64(i), key, nil, 1000))
		devs = append(devs, device{name: key, key: key, next: func() (string, int, error) {
			f, err := c.tryRead(10 * time.Second)
			return string(f.Body), 0, err
		}})
	}
	for i := range perTransport {
		key := fmt.Sprint("k-drain-ws-", i)
		c := dialWS(t, cl.edge.Addrs().WS)
		c.auth(token(int64(100+i), key, nil, 1000))
		devs = append(devs, device{name: key, key: key, next: func() (string, int, error) {
			_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, b, err := c.c.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					if ce.Text != goAwayReason {
						return "", ce.Code, fmt.Errorf("close reason %q: %w", ce.Text, err)
					}
					return "", ce.Code, err
				}
				return "", -1, err
			}
			f, derr := protocol.DecodeMessage(b, len(b))
			return string(f.Body), 0, derr
		}})
	}

	var sent, delivered, refused, lost atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, d := range devs {
		wg.Go(func() {
			<-start
			for seq := 0; ; seq++ {
				body := fmt.Sprintf("%s-%d", d.key, seq)
				resp, err := cl.rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{d.key}, Op: 1000, Body: []byte(body)})
				if err != nil {
					t.Errorf("%s: push: %v", d.name, err)
					return
				}
				sent.Add(1)
				if resp.Delivered == 0 {
					// The device's turn came: the edge refused the push, and
					// the connection must end after what it had queued.
					refused.Add(1)
					_, code, err := d.next()
					for err == nil {
						_, code, err = d.next()
					}
					checkEnd(t, d.name, code, err)
					return
				}
				got, code, err := d.next()
				if err != nil {
					lost.Add(1)
					t.Errorf("%s: push %q taken by the edge but the connection ended first: %v", d.name, body, err)
					checkEnd(t, d.name, code, err)
					return
				}
				if got != body {
					t.Errorf("%s: got %q, want %q", d.name, got, body)
					return
				}
				delivered.Add(1)
			}
		})
	}
	close(start)
	// A few pushes each before the drain starts.
	eventually(t, "pushes flowing", func() bool { return delivered.Load() >= int64(3*len(devs)) })
	resp, err := cl.rpc.Drain(context.Background(), &edge.DrainReq{Rate: 4}) // about 2 s for 8 devices
	if err != nil || resp.Connections != int32(len(devs)) {
		t.Fatalf("Drain = %v, %v", resp, err)
	}
	wg.Wait()
	t.Logf("pushes sent %d, delivered %d, refused at the device's turn %d, lost %d", sent.Load(), delivered.Load(), refused.Load(), lost.Load())
	if lost.Load() != 0 {
		t.Fatalf("%d pushes lost", lost.Load())
	}
	eventually(t, "no sessions left", func() bool { return cl.edge.Stats().Conns == 0 })
	if !cl.edge.Stats().Draining {
		t.Fatal("not draining")
	}
	for _, d := range devs {
		eventually(t, "route of "+d.key+" removed", func() bool { return cl.routeServer(t, d.key) == "" })
	}
}

// checkEnd checks how a connection ended: a WebSocket with close code
// 1001 and the goodbye reason, a TCP connection with EOF (not a timeout).
func checkEnd(t *testing.T, name string, code int, err error) {
	t.Helper()
	if code == 0 { // TCP
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			t.Errorf("%s: connection still open: %v", name, err)
		}
		return
	}
	if code != websocket.CloseGoingAway {
		t.Errorf("%s: connection ended with %v, want close code 1001", name, err)
	}
}

// TestGoAwayFlushesQueue: a session ended by a drain writes what was
// queued for it first, even when a writer owns the queue at that moment.
func TestGoAwayFlushesQueue(t *testing.T) {
	srv := newUnitServer(t, nil)
	block := make(chan struct{})
	tr := &recTransport{block: block}
	s := publishedSession(srv, "k", tr, 1000)
	for i := range 3 {
		if !s.push([]byte{byte(i)}, 1000, true) {
			t.Fatalf("push %d refused", i)
		}
	}
	s.goAway() // the drain goroutine holds the queue, blocked in write
	if s.push([]byte{9}, 1000, true) {
		t.Fatal("push taken after goAway")
	}
	close(block)
	eventually(t, "session closed", tr.isClosed)
	if got := len(tr.written()); got != 3 {
		t.Fatalf("wrote %d messages before closing, want 3", got)
	}
}
