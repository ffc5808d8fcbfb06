package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDrainIsNotARefusal: an edge that drains refuses new connections
// (TCP: closed before it reads anything; WebSocket: 503). That must not
// count as a refused token, or a rolling restart would stop clients. Its
// WebSocket devices are told to go away (1001) after the drain delay and
// move to the other edge from the node list.
func TestDrainIsNotARefusal(t *testing.T) {
	c := startCluster(t)
	cl, b := dialInbox(t, Options{
		NodesURL:  c.nodesURL(),
		Transport: WS,
		Token:     JSONToken{Mid: 1, Key: "drained", Accepts: []int32{1000}}.Bytes(),
		Backoff:   fastBackoff,
	})
	on := 0
	if strings.Contains(cl.Addr(), c.edgeHost[1]+":") {
		on = 1
	}
	if err := c.edges[on].Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.waitNodes(t, 1) // a draining edge is no longer offered
	host := c.edgeHost[on]
	for _, tr := range []struct{ name, addr string }{
		{"tcp", fmt.Sprintf("%s:%d", host, c.tcpPort)},
		{"ws", fmt.Sprintf("ws://%s:%d/sub", host, c.wsPort)},
	} {
		t.Run(tr.name, func(t *testing.T) {
			d := &countingDialer{}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			got, err := Dial(ctx, Options{
				Addrs:            []string{tr.addr},
				Token:            JSONToken{Mid: 2}.Bytes(),
				Backoff:          fastBackoff,
				AuthRefusedAfter: 1,
				DialContext:      d.dial,
			})
			if got != nil {
				closeClient(t, got)
				t.Fatal("a draining edge took a new connection")
			}
			if errors.Is(err, ErrAuthRefused) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Dial to a draining edge: %v, want the context's deadline (still retrying)", err)
			}
			if d.count() < 2 {
				t.Fatalf("%d dials: the client stopped retrying", d.count())
			}
		})
	}
	// The connected client is told to go away (1001) and moves over.
	ev := b.waitConnected(t, 2)
	if !strings.Contains(ev.Addr, c.edgeHost[1-on]+":") {
		t.Fatalf("reconnected to %q, want the other edge", ev.Addr)
	}
	b.mu.Lock()
	for _, e := range b.events {
		if e.State == Disconnected && !errors.Is(e.Err, ErrGoingAway) {
			t.Errorf("disconnected with %v, want ErrGoingAway", e.Err)
		}
	}
	b.mu.Unlock()
	closeClient(t, cl)
}
