// Package reachtest tells which edge a real Kitex client reaches through
// a resolver: edges that answer Rooms with their own name, and a client
// that waits for its calls to settle on one. The resolver tests of the
// registry kinds share it; only tests import it.
package reachtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/server"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeservice "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	"github.com/goim-edge/goim-edge/registry"
)

// Settle is how long Until waits for the calls to settle: generous, it
// only catches calls that never settle on a loaded machine; Until returns
// the time it took, for the tests to log.
const Settle = 10 * time.Second

// namedEdge answers Rooms with its own name.
type namedEdge struct {
	edge.Edge
	name string
}

func (n *namedEdge) Rooms(context.Context, *edge.RoomsReq) (*edge.RoomsResp, error) {
	return &edge.RoomsResp{Rooms: map[string]int32{n.name: 1}}, nil
}

// StartEdge serves a Kitex Edge named name on a free loopback port until
// the test ends and returns its address.
func StartEdge(t testing.TB, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svr := edgeservice.NewServer(&namedEdge{name: name}, server.WithListener(ln), server.WithExitWaitTime(10*time.Millisecond))
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	t.Cleanup(func() { _ = svr.Stop(); <-done })
	return ln.Addr().String()
}

// Client is a Kitex Edge client whose calls report which edge they reached.
type Client struct {
	t   testing.TB
	cli edgeservice.Client
}

// NewClient is an Edge client for registry.ServiceEdge built with opts
// (a resolver's ClientOptions).
func NewClient(t testing.TB, opts ...client.Option) *Client {
	t.Helper()
	cli, err := edgeservice.NewClient(registry.ServiceEdge, append(opts, client.WithRPCTimeout(10*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{t: t, cli: cli}
}

// Reached makes one call and returns the name of the edge it reached.
func (c *Client) Reached() string {
	c.t.Helper()
	resp, err := c.cli.Rooms(context.Background(), &edge.RoomsReq{})
	if err != nil {
		c.t.Fatalf("Rooms: %v", err)
	}
	for name := range resp.Rooms {
		return name
	}
	return ""
}

// Until calls until the calls reach want (only want, when only is set: 20
// calls in a row) and returns how long that took; it fails the test when
// the calls have not settled within Settle.
func (c *Client) Until(what, want string, only bool) time.Duration {
	c.t.Helper()
	start := time.Now()
	var streakStart time.Time
	streak := 0
	for {
		if c.Reached() == want {
			if streak == 0 {
				streakStart = time.Now()
			}
			streak++
			if !only || streak == 20 {
				return streakStart.Sub(start)
			}
			continue
		}
		streak = 0
		if time.Since(start) > Settle {
			c.t.Fatalf("%s: calls did not settle on %s within %v", what, want, Settle)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
