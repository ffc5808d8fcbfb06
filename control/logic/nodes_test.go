package logic

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

func TestWeightedNodesUsesConfig(t *testing.T) {
	edges := static.New(
		registry.Instance{Service: registry.ServiceEdge, Node: "e1", Domain: "e1.example.com", Addrs: registry.Addrs{TCP: "10.0.0.1:4101", WS: "10.0.0.1:4102"}},
		registry.Instance{Service: registry.ServiceEdge, Node: "e2", Draining: true, Addrs: registry.Addrs{TCP: "10.0.0.2:4101"}},
	)
	h := newHarness(t, logictest.MemoryStore(t), func(c *Config) {
		c.Heartbeat, c.HeartbeatMax = 30*time.Second, 3
		c.Nodes.TCPPort, c.Nodes.WSPort, c.Nodes.Domain = 4101, 4102, "push.example.com"
		c.Nodes.Heartbeat = time.Hour // ignored: logic's heartbeat is what edges enforce
	}, func(d *Deps) { d.Discovery = edges })
	got, err := h.l.WeightedNodes(context.Background(), "android", "1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	want := &push.NodesWeightedResp{
		// No edge serves WSS, so no WSS port is offered.
		Domain: "push.example.com", TcpPort: 4101, WsPort: 4102, WssPort: 0, Heartbeat: 30, HeartbeatMax: 3,
		Nodes:   []string{"10.0.0.1"}, // the draining edge is not offered
		Backoff: &push.Backoff{MaxDelay: 300, BaseDelay: 3, Factor: 1.8, Jitter: 0.3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("WeightedNodes = %+v\nwant %+v", got, want)
	}
	if ins := h.l.EdgeInstances(); len(ins) != 2 || ins[0].Node != "e1" {
		t.Fatalf("EdgeInstances = %+v", ins)
	}
}
