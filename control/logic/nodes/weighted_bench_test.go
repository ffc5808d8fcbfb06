package nodes

import (
	"fmt"
	"testing"

	"github.com/goim-edge/goim-edge/registry"
)

// BenchmarkWeighted is one /goim/nodes/weighted answer over 100 edges in
// three regions, with a region lookup from a CIDR table.
func BenchmarkWeighted(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Regions = map[string][]string{"bj": {"10.1.0.0/16"}, "sh": {"10.2.0.0/16"}, "gz": {"10.3.0.0/16"}}
	regions := []string{"bj", "sh", "gz"}
	instances := make([]registry.Instance, 100)
	for i := range instances {
		instances[i] = in(regions[i%3], edge(fmt.Sprintf("edge-%03d", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), 10+i%3*10, i*37%1000))
	}
	req := Request{Platform: "android", ClientIP: "10.2.44.5"}
	b.ReportAllocs()
	for b.Loop() {
		if res := Weighted(instances, req, cfg); len(res.Nodes) != cfg.NodeCount {
			b.Fatalf("nodes %v", res.Nodes)
		}
	}
}
