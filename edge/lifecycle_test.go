package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	logicclient "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/protocol"
)

// routeServer is the edge logic's store routes key to ("" when none).
func (cl *cluster) routeServer(t testing.TB, key string) string {
	t.Helper()
	m, err := cl.store.ServersByKeys(context.Background(), []string{key})
	if err != nil {
		t.Fatal(err)
	}
	return m[key]
}

func TestRoutesFollowConnections(t *testing.T) {
	cl := newCluster(t, func(c *Config) { c.RouteRenewInterval = time.Millisecond }, nil)
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.auth(token(5, "k-route", nil))
	if got := cl.routeServer(t, "k-route"); got != "edge-test" {
		t.Fatalf("route after auth = %q", got)
	}
	// A heartbeat past the renew interval renews the route (a logic
	// Heartbeat call) without disturbing it.
	errs0 := counterValue(t, logicErrorsTotal.WithLabelValues("heartbeat"))
	calls0 := counterValue(t, logicCallsTotal.WithLabelValues("heartbeat"))
	time.Sleep(5 * time.Millisecond)
	c.send(protocol.OpHeartbeat, 1, nil)
	c.read()
	eventually(t, "route renewal", func() bool { return counterValue(t, logicCallsTotal.WithLabelValues("heartbeat")) > calls0 })
	if errs := counterValue(t, logicErrorsTotal.WithLabelValues("heartbeat")); errs != errs0 {
		t.Fatalf("route renewal failed %v times", errs-errs0)
	}
	if got := cl.routeServer(t, "k-route"); got != "edge-test" {
		t.Fatalf("route after renewal = %q", got)
	}
	_ = c.c.Close()
	eventually(t, "route removed on close", func() bool { return cl.routeServer(t, "k-route") == "" })
}

func TestRenewOnlineReportsRooms(t *testing.T) {
	cl := newCluster(t, nil, nil)
	for i := range 3 {
		c := dialTCP(t, cl.edge.Addrs().TCP)
		c.auth(token(int64(i), fmt.Sprint("k-online-", i), []string{"live://42"}))
	}
	eventually(t, "logic to see the room", func() bool {
		counts, err := cl.logic.RoomOnline(context.Background(), "live", []string{"42"})
		return err == nil && counts["42"] == 3
	})
	eventually(t, "logic to see the totals", func() bool {
		tot, err := cl.logic.TotalOnline(context.Background())
		return err == nil && tot.Conns == 3 && tot.IPs == 1
	})
}

func TestShutdownClosesConnectionsAndRoutes(t *testing.T) {
	forEachWS(t, testShutdownClosesConnectionsAndRoutes)
}

func testShutdownClosesConnectionsAndRoutes(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, nil, func(c *logicsvc.Config) {})
	tc := dialTCP(t, cl.edge.Addrs().TCP)
	tc.auth(token(1, "k-down-tcp", nil))
	wc := dialWS(t, cl.edge.Addrs().WS)
	wc.auth(token(2, "k-down-ws", nil))
	pre := dialTCP(t, cl.edge.Addrs().TCP) // not authenticated yet
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.edge.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	tc.expectClosed()
	wc.expectClosed()
	pre.expectClosed()
	for _, k := range []string{"k-down-tcp", "k-down-ws"} {
		if got := cl.routeServer(t, k); got != "" {
			t.Fatalf("route of %s left on %q", k, got)
		}
	}
	if st := cl.edge.Stats(); st.Conns != 0 || !st.Draining {
		t.Fatalf("stats after shutdown %+v", st)
	}
}

func TestLogicDownDegrades(t *testing.T) {
	cl := newCluster(t, nil, nil)
	addr := cl.edge.Addrs().TCP
	c := dialTCP(t, addr)
	c.auth(token(1, "k-before", []string{"live://down"}, 1000))
	cl.stopLogic()

	// Connected devices keep working: heartbeats, upstream acks, pushes.
	c.send(protocol.OpHeartbeat, 1, nil)
	if f := c.read(); f.Op != protocol.OpHeartbeatReply {
		t.Fatalf("heartbeat with logic down: %+v", f)
	}
	c.send(protocol.OpSendMsg, 2, []byte("up"))
	if f := c.read(); f.Op != protocol.OpSendMsg || f.Seq != 2 {
		t.Fatalf("upstream ack with logic down: %+v", f)
	}
	if _, err := cl.rpc.PushRoom(context.Background(), &edge.PushRoomReq{Room: "live://down", Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte("still here")}}}); err != nil {
		t.Fatal(err)
	}
	if f := c.read(); string(f.Body) != "still here" {
		t.Fatalf("push with logic down: %+v", f)
	}
	// New devices cannot authenticate and are closed.
	n := dialTCP(t, addr)
	n.send(protocol.OpAuth, 1, token(2, "k-after", nil))
	n.expectClosed()
	if st := cl.edge.Stats(); st.Conns != 1 {
		t.Fatalf("conns = %d", st.Conns)
	}
}

// TestStartOnBusyPort: a port in use fails Start with the OS's "address
// already in use" naming the listener, logs nothing else (no "tcp serve:
// bad file descriptor" from a listener torn down under netpoll), and
// releases the ports it had already bound.
func TestStartOnBusyPort(t *testing.T) {
	for _, which := range []string{"tcp", "websocket", "rpc"} {
		t.Run(which, func(t *testing.T) {
			busy, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer busy.Close()
			cfg := DefaultConfig()
			cfg.Node = "edge-busy"
			cfg.TCPAddr, cfg.WSAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
			switch which {
			case "tcp":
				cfg.TCPAddr = busy.Addr().String()
			case "websocket":
				cfg.WSAddr = busy.Addr().String()
			case "rpc":
				cfg.RPCAddr = busy.Addr().String()
			}
			var logs bytes.Buffer
			e, err := New(cfg, noLogicClient(t))
			if err != nil {
				t.Fatal(err)
			}
			e.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))
			err = e.Start()
			if err == nil {
				t.Fatal("Start succeeded on a busy port")
			}
			if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "edge: listen "+which) {
				t.Fatalf("Start error %q, want edge: listen %s ... address already in use", err, which)
			}
			time.Sleep(100 * time.Millisecond) // a serve goroutine would have logged by now
			if logs.Len() > 0 {
				t.Fatalf("Start logged %q", logs.String())
			}
			// Ports bound before the busy one are free again.
			for _, addr := range []string{e.Addrs().TCP, e.Addrs().WS} {
				if addr == "" || addr == busy.Addr().String() {
					continue
				}
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("port %s still held after the failed Start: %v", addr, err)
				}
				ln.Close()
			}
		})
	}
}

// noLogicClient is a logic client for tests that never reach logic.
func noLogicClient(t testing.TB) logicclient.Client {
	t.Helper()
	c, err := logicclient.NewClient("goim.logic", client.WithHostPorts("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestShutdownRightAfterStart: a Shutdown that comes before the servers
// have finished starting still stops all of them promptly, and frees
// every port (Kitex's Stop before Run has built its transport used to
// leave the RPC server serving until the context ran out).
func TestShutdownRightAfterStart(t *testing.T) {
	for i := range 5 {
		cfg := DefaultConfig()
		cfg.Node = "edge-quick"
		cfg.TCPAddr, cfg.WSAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		e, err := New(cfg, noLogicClient(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		addrs := e.Addrs()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		err = e.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: Shutdown: %v (after %v)", i, err, time.Since(start))
		}
		for _, a := range []string{addrs.TCP, addrs.WS, addrs.RPC} {
			eventually(t, fmt.Sprintf("port %s (tcp %s ws %s rpc %s) to be free", a, addrs.TCP, addrs.WS, addrs.RPC), func() bool {
				ln, err := net.Listen("tcp", a)
				if err != nil {
					return false
				}
				ln.Close()
				return true
			})
		}
	}
}
