package nodes

import (
	"slices"
	"testing"

	"github.com/goim-edge/goim-edge/registry"
)

func public(i registry.Instance, pub registry.Addrs) registry.Instance { i.Public = pub; return i }

// TestPublicAddresses: an edge's public addresses win over the advertised
// ones for the hosts handed out; public ports replace the configured ones
// only when every offered edge agrees; WSS is offered only when an
// offered edge serves it.
func TestPublicAddresses(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HostDomain = ""
	lb := registry.Addrs{TCP: "203.0.113.7:443", WS: "203.0.113.7:80"}
	tests := []struct {
		name         string
		edges        []registry.Instance
		platform     string
		nodes        []string
		tcp, ws, wss int
	}{
		{"advertised only", []registry.Instance{edge("a", "10.0.0.1", 10, 0)}, "ios",
			[]string{"10.0.0.1"}, 3101, 3102, 0},
		{"public host and ports", []registry.Instance{public(edge("a", "10.0.0.1", 10, 0), lb)}, "ios",
			[]string{"203.0.113.7"}, 443, 80, 0},
		{"web gets the public host", []registry.Instance{public(edge("a", "10.0.0.1", 10, 0), lb)}, PlatformWeb,
			[]string{"203.0.113.7"}, 443, 80, 0},
		{"ports disagree: configured ones", []registry.Instance{
			public(edge("a", "10.0.0.1", 10, 0), lb),
			public(edge("b", "10.0.0.2", 10, 0), registry.Addrs{TCP: "203.0.113.8:8443", WS: "203.0.113.8:80"}),
		}, "ios", []string{"203.0.113.7", "203.0.113.8"}, 3101, 80, 0},
		{"one edge without public: configured ports", []registry.Instance{
			public(edge("a", "10.0.0.1", 10, 0), lb), edge("b", "10.0.0.2", 10, 0),
		}, "ios", []string{"203.0.113.7", "10.0.0.2"}, 3101, 3102, 0},
		{"wss served by one edge", []registry.Instance{
			public(edge("a", "10.0.0.1", 10, 0), registry.Addrs{TCP: "203.0.113.7:3101", WSS: "203.0.113.7:3103"}),
			edge("b", "10.0.0.2", 10, 0),
		}, "ios", []string{"203.0.113.7", "10.0.0.2"}, 3101, 3102, 3103},
		{"no edge: configured ports", nil, "ios", []string{"conn.goim.io"}, 3101, 3102, 3103},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Weighted(tt.edges, Request{Platform: tt.platform}, cfg)
			got := slices.Clone(res.Nodes)
			slices.Sort(got)
			want := slices.Clone(tt.nodes)
			slices.Sort(want)
			if !slices.Equal(got, want) || res.TCPPort != tt.tcp || res.WSPort != tt.ws || res.WSSPort != tt.wss {
				t.Fatalf("nodes %v ports %d/%d/%d, want %v %d/%d/%d", res.Nodes, res.TCPPort, res.WSPort, res.WSSPort,
					tt.nodes, tt.tcp, tt.ws, tt.wss)
			}
		})
	}
}
