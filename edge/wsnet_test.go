package edge

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWSUpgradeRefusals: requests the ws port must not upgrade get an
// HTTP status, on both transports (the header limit is the netpoll
// transport's own).
func TestWSUpgradeRefusals(t *testing.T) {
	forEachWS(t, testWSUpgradeRefusals)
}

func testWSUpgradeRefusals(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, nil, nil)
	addr := cl.edge.Addrs().WS
	upgrade := "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	tests := []struct {
		name, req  string
		want       int
		transports string // empty: both
	}{
		{"wrong path", "GET /nope HTTP/1.1\r\nHost: x\r\n" + upgrade + "\r\n", http.StatusNotFound, ""},
		{"not an upgrade", "GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest, ""},
		{"headers too long", "GET /sub HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("a", 9000) + "\r\n" + upgrade + "\r\n", http.StatusRequestHeaderFieldsTooLarge, WSTransportNetpoll},
		{"query string ignored", "GET /sub?x=1 HTTP/1.1\r\nHost: x\r\n" + upgrade + "\r\n", http.StatusSwitchingProtocols, ""},
	}
	for _, tt := range tests {
		if tt.transports != "" && tt.transports != transport {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(tt.req)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
