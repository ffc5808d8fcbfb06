package edge

import (
	"context"
	"fmt"
	"testing"
	"time"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
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
	cl := newCluster(t, nil, func(c *logicsvc.Config) {})
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
