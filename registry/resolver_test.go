package registry_test

import (
	"context"
	"testing"

	"github.com/cloudwego/kitex/pkg/discovery"

	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/internal/reachtest"
	"github.com/goim-edge/goim-edge/registry/static"
)

func inst(node, rpc string, weight int) registry.Instance {
	return registry.Instance{Env: "test", Service: registry.ServiceEdge, Region: "sh", Zone: "sh001", Node: node,
		Addrs: registry.Addrs{RPC: rpc}, Weight: weight}
}

func TestResolve(t *testing.T) {
	drain := inst("d", "127.0.0.1:3", 10)
	drain.Draining = true
	reg := static.New(inst("a", "127.0.0.1:1", 0), inst("b", "127.0.0.1:2", 30), drain, inst("norpc", "", 10))
	r := registry.NewResolver(reg)
	res, err := r.Resolve(context.Background(), registry.ServiceEdge)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cacheable || res.CacheKey != registry.ServiceEdge || len(res.Instances) != 2 {
		t.Fatalf("result %+v", res)
	}
	want := []struct {
		addr   string
		weight int
		node   string
	}{{"127.0.0.1:1", registry.DefaultWeight, "a"}, {"127.0.0.1:2", 30, "b"}}
	for i, w := range want {
		in := res.Instances[i]
		node, _ := in.Tag(registry.TagNode)
		zone, _ := in.Tag(registry.TagZone)
		dr, _ := in.Tag(registry.TagDraining)
		if in.Address().String() != w.addr || in.Weight() != w.weight || node != w.node || zone != "sh001" || dr != "false" {
			t.Errorf("instance %d: %v w=%d node=%s zone=%s draining=%s", i, in.Address(), in.Weight(), node, zone, dr)
		}
	}
	if res, err := r.Resolve(context.Background(), "nobody"); err != nil || len(res.Instances) != 0 {
		t.Fatalf("unknown service: %+v %v", res, err)
	}
	if _, err := r.Resolve(context.Background(), ""); err == nil {
		t.Fatal("empty service resolved")
	}
	if registry.NewResolver(reg).Name() == r.Name() {
		t.Fatal("two resolvers share a name (Kitex would share their caches)")
	}
}

func TestDiff(t *testing.T) {
	ni := func(addr string, w int, zone string) discovery.Instance {
		return discovery.NewInstance("tcp", addr, w, map[string]string{registry.TagZone: zone})
	}
	res := func(in ...discovery.Instance) discovery.Result {
		return discovery.Result{Cacheable: true, CacheKey: "k", Instances: in}
	}
	r := registry.NewResolver(static.New())
	cases := []struct {
		name                   string
		prev, next             discovery.Result
		added, updated, remove int
	}{
		{"same", res(ni("a:1", 10, "z")), res(ni("a:1", 10, "z")), 0, 0, 0},
		{"added", res(ni("a:1", 10, "z")), res(ni("a:1", 10, "z"), ni("b:1", 10, "z")), 1, 0, 0},
		{"removed", res(ni("a:1", 10, "z"), ni("b:1", 10, "z")), res(ni("b:1", 10, "z")), 0, 0, 1},
		{"weight", res(ni("a:1", 10, "z")), res(ni("a:1", 20, "z")), 0, 1, 0},
		{"tag", res(ni("a:1", 10, "z")), res(ni("a:1", 10, "y")), 0, 1, 0},
		{"all", res(ni("a:1", 10, "z"), ni("b:1", 1, "z")), res(ni("b:1", 2, "z"), ni("c:1", 1, "z")), 1, 1, 1},
		{"from empty", res(), res(ni("a:1", 10, "z")), 1, 0, 0},
	}
	for _, c := range cases {
		ch, changed := r.Diff("key", c.prev, c.next)
		if len(ch.Added) != c.added || len(ch.Updated) != c.updated || len(ch.Removed) != c.remove {
			t.Errorf("%s: +%d ~%d -%d", c.name, len(ch.Added), len(ch.Updated), len(ch.Removed))
		}
		if changed != (c.added+c.updated+c.remove > 0) {
			t.Errorf("%s: changed=%v", c.name, changed)
		}
		if ch.Result.CacheKey != "key" || len(ch.Result.Instances) != len(c.next.Instances) {
			t.Errorf("%s: result %+v", c.name, ch.Result)
		}
	}
}

func TestKitexClientFollowsRegistry(t *testing.T) {
	addr1, addr2 := reachtest.StartEdge(t, "edge-1"), reachtest.StartEdge(t, "edge-2")
	reg := static.New(inst("edge-1", addr1, 10))
	cli := reachtest.NewClient(t, registry.NewResolver(reg).ClientOptions()...)

	for range 10 {
		if got := cli.Reached(); got != "edge-1" {
			t.Fatalf("only edge-1 registered, call reached %s", got)
		}
	}
	if err := reg.Add(inst("edge-2", addr2, 10)); err != nil {
		t.Fatal(err)
	}
	added := cli.Until("new edge", "edge-2", false)

	e1 := inst("edge-1", addr1, 10)
	e1.Draining = true
	if err := reg.Update(e1); err != nil {
		t.Fatal(err)
	}
	drained := cli.Until("draining edge-1", "edge-2", true)

	e1.Draining = false
	if err := reg.Update(e1); err != nil {
		t.Fatal(err)
	}
	reg.Remove(inst("edge-2", addr2, 10))
	removed := cli.Until("removed edge-2", "edge-1", true)
	t.Logf("kitex client followed the registry: add %v, drain %v, remove %v (refresh %v)", added, drained, removed, registry.ResolverRefresh)
}
