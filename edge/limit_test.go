package edge

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goim-edge/goim-edge/protocol"
)

// TestMaxConnections: past max_connections, TCP connections are closed
// before auth and WebSocket upgrades get 503, both counted; a slot freed
// by a closing connection takes a new device again. Connections count
// from accept, authenticated or not.
func TestMaxConnections(t *testing.T) {
	forEachWS(t, testMaxConnections)
}

func testMaxConnections(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, func(c *Config) { c.MaxConnections = 2 }, nil)
	addrs := cl.edge.Addrs()
	tcpRefused := refusedTotal.WithLabelValues("tcp", "max_connections")
	wsRefused := refusedTotal.WithLabelValues("ws", "max_connections")
	tcp0, ws0 := counterValue(t, tcpRefused), counterValue(t, wsRefused)

	a := dialTCP(t, addrs.TCP)
	a.auth(token(1, "k-cap-a", nil))
	b := dialWS(t, addrs.WS) // open, not yet authenticated
	eventually(t, "two open connections", func() bool { return cl.edge.open.Load() == 2 })

	c := dialTCP(t, addrs.TCP)
	c.expectClosed()
	if got := counterValue(t, tcpRefused) - tcp0; got != 1 {
		t.Fatalf("tcp refusals counted %v, want 1", got)
	}

	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial("ws://"+addrs.WS+"/sub", nil)
	if err == nil {
		conn.Close()
		t.Fatal("websocket upgrade past the cap succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
		t.Fatalf("websocket upgrade past the cap: %v, response %+v; want 503, Connection: close", err, resp)
	}
	if n := cl.edge.open.Load(); n != 2 {
		t.Fatalf("%d connections counted open after the refusals, want 2", n)
	}
	if got := counterValue(t, wsRefused) - ws0; got != 1 {
		t.Fatalf("ws refusals counted %v, want 1", got)
	}

	// The connections inside the cap work, and a freed slot is reused.
	b.auth(token(2, "k-cap-b", nil))
	a.send(protocol.OpHeartbeat, 3, nil)
	if f := a.read(); f.Op != protocol.OpHeartbeatReply {
		t.Fatalf("heartbeat reply op %d", f.Op)
	}
	_ = a.c.Close()
	eventually(t, "the slot to free", func() bool { return cl.edge.open.Load() == 1 })
	e := dialTCP(t, addrs.TCP)
	e.auth(token(3, "k-cap-e", nil))
	if st := cl.edge.Stats(); st.Conns != 2 {
		t.Fatalf("sessions = %d, want 2", st.Conns)
	}
}

// TestMaxConnectionsZeroIsUnlimited: 0 caps nothing.
func TestMaxConnectionsZeroIsUnlimited(t *testing.T) {
	srv := newUnitServer(t, func(c *Config) { c.MaxConnections, c.MaxConnsPerIP, c.AcceptRate = 0, 0, 0 })
	for range 100 {
		if !srv.reserveConn("tcp", "10.0.0.1:1") {
			t.Fatal("refused a connection with max_connections = 0")
		}
	}
	if srv.full() {
		t.Fatal("full with max_connections = 0")
	}
}
