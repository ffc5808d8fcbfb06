package edge

import (
	"fmt"
	"testing"
)

// TestPingAll: one round pings every WebSocket session once, skips TCP
// ones, and closes a session whose ping cannot be written.
func TestPingAll(t *testing.T) {
	srv := newUnitServer(t, nil)
	ws := make([]*recTransport, 100)
	for i := range ws {
		ws[i] = &recTransport{}
		publishedSession(srv, fmt.Sprint("ws-", i), ws[i])
	}
	tcp := &countTransport{}
	publishedSession(srv, "tcp", tcp)
	broken := &recTransport{closed: true} // its writes fail
	bs := publishedSession(srv, "broken", broken)

	srv.pingAll()

	for i, tr := range ws {
		if got := tr.written(); len(got) != 1 || got[0] != nil {
			t.Fatalf("session %d got %q, want one ping", i, got)
		}
	}
	if n := tcp.n.Load(); n != 0 {
		t.Fatalf("tcp session got %d writes, want none", n)
	}
	bs.smu.Lock()
	closed := bs.closed
	bs.smu.Unlock()
	if !closed {
		t.Fatal("session whose ping failed is still open")
	}
}
