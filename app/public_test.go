package app

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/control/logic/httpapi"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/registry"
)

// TestPublicAddressReachesNodesAPI: an edge with edge.public_host and a
// public TCP port publishes them in etcd, and a logic reading etcd hands
// them to devices in /goim/nodes/weighted instead of the advertised host;
// no WSS port is offered, as the edge serves none.
func TestPublicAddressReachesNodesAPI(t *testing.T) {
	etcd, redis := testenv.Etcd(t), testenv.Redis(t)
	base := func(id string) *config.Config {
		c := testConfig()
		c.Node.ID = id
		c.Registry.Kind = "etcd"
		c.Registry.Etcd.Endpoints = []string{etcd.Addr}
		return c
	}
	lc := base("logic-public")
	lc.Store.Kind, lc.Store.Redis.Addr = "redis", redis.Addr
	lc.Queue.Kind, lc.Queue.Redis.Addr = "redis", redis.Addr
	lc.Logic.HTTPAddr, lc.Logic.RPCAddr = freeAddr(t), freeAddr(t)
	logicNode, err := startWithin(t, func() (node, error) { return startLogicRole(context.Background(), lc, discardLog()) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, logicNode)

	ec := base("edge-public")
	for _, p := range edgePorts(t) {
		p.set(ec, p.addr)
	}
	ec.Edge.PublicHost, ec.Edge.PublicTCPPort = "203.0.113.7", 443
	edgeNode, err := startWithin(t, func() (node, error) { return startEdgeRole(context.Background(), ec, discardLog()) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, edgeNode)
	_, wsPort, _ := net.SplitHostPort(ec.Edge.WSAddr)

	var nodes struct {
		Data struct {
			TCPPort int      `json:"tcp_port"`
			WSPort  int      `json:"ws_port"`
			WSSPort int      `json:"wss_port"`
			Nodes   []string `json:"nodes"`
		} `json:"data"`
	}
	// Logic follows etcd by watch; wait for the edge to appear.
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := getURL(t, "http://"+lc.Logic.HTTPAddr+httpapi.RouteNodesWeighted+"?platform=android")
		if code != 200 {
			t.Fatalf("nodes: %d %s", code, body)
		}
		if err := json.Unmarshal([]byte(body), &nodes); err != nil {
			t.Fatal(err)
		}
		if len(nodes.Data.Nodes) == 1 && nodes.Data.Nodes[0] != lc.Logic.Nodes.Domain {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edge never reached the nodes API: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := nodes.Data; d.Nodes[0] != "203.0.113.7" || d.TCPPort != 443 || strconv.Itoa(d.WSPort) != wsPort || d.WSSPort != 0 {
		t.Fatalf("nodes %+v, want [203.0.113.7] tcp 443, ws %s (the listen port), wss 0", d, wsPort)
	}

	_, body := getURL(t, "http://"+lc.Logic.HTTPAddr+httpapi.RouteNodesInstances)
	var inst struct {
		Data []registry.Instance `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &inst); err != nil || len(inst.Data) != 1 {
		t.Fatalf("instances %s: %v", body, err)
	}
	want := registry.Addrs{TCP: "203.0.113.7:443", WS: "203.0.113.7:" + wsPort}
	if got := inst.Data[0]; got.Public != want || got.Addrs.TCP != ec.Edge.TCPAddr {
		t.Fatalf("registered %+v / %+v, want public %+v beside the advertised %s", got.Public, got.Addrs, want, ec.Edge.TCPAddr)
	}
}

// TestPublicAddrs covers what an edge publishes for each setting.
func TestPublicAddrs(t *testing.T) {
	adv := registry.Addrs{RPC: "10.0.0.1:3109", TCP: "10.0.0.1:3101", WS: "10.0.0.1:3102"}
	tests := []struct {
		name string
		set  func(*config.EdgeConfig)
		want registry.Addrs
	}{
		{"nothing set", func(*config.EdgeConfig) {}, registry.Addrs{}},
		{"host", func(e *config.EdgeConfig) { e.PublicHost = "edge-1.example.net" },
			registry.Addrs{TCP: "edge-1.example.net:3101", WS: "edge-1.example.net:3102"}},
		{"port only", func(e *config.EdgeConfig) { e.PublicTCPPort = 443 },
			registry.Addrs{TCP: "10.0.0.1:443", WS: "10.0.0.1:3102"}},
		{"wss at the load balancer", func(e *config.EdgeConfig) { e.PublicHost, e.PublicWSSPort = "2001:db8::7", 443 },
			registry.Addrs{TCP: "[2001:db8::7]:3101", WS: "[2001:db8::7]:3102", WSS: "[2001:db8::7]:443"}},
	}
	for _, tt := range tests {
		e := config.Default().Edge
		tt.set(&e)
		if got := publicAddrs(e, adv); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	bad := config.Default()
	bad.Edge.PublicHost, bad.Edge.PublicWSPort = "https://edge.example.net", 70000
	if err := bad.Validate(); err == nil {
		t.Fatal("a URL as public_host and port 70000 passed validation")
	}
}
