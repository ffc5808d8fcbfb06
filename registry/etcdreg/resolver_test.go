package etcdreg

import (
	"context"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/internal/reachtest"
)

// TestKitexClientOverEtcd: a real Kitex client resolving through the
// etcd watch reaches a newly registered edge, and stops reaching a
// deregistered one (within reachtest.Settle; the times are logged).
func TestKitexClientOverEtcd(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	cli := newClient(t, cfg)
	d := NewDiscovery(cli, cfg, nil)
	defer d.Close()
	ctx := testCtx(t)

	register := func(name, addr string) *Registrar {
		r := NewRegistrar(cli, cfg, nil)
		inst := edgeInstance(name)
		inst.Addrs.RPC = addr
		if err := r.Register(ctx, inst); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r1 := register("edge-1", reachtest.StartEdge(t, "edge-1"))
	defer r1.Deregister(ctx)

	kc := reachtest.NewClient(t, registry.NewResolver(d).ClientOptions()...)
	if got := kc.Reached(); got != "edge-1" {
		t.Fatalf("reached %s", got)
	}
	r2 := register("edge-2", reachtest.StartEdge(t, "edge-2"))
	added := kc.Until("new edge", "edge-2", false)
	if err := r2.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	dropped := kc.Until("deregistered edge", "edge-1", true)
	t.Logf("kitex over etcd: new edge used after %v, deregistered edge dropped after %v", added, dropped)
}

// BenchmarkKitexClientOverEtcd reports how long a Kitex client resolving
// through the etcd watch takes to reach a newly registered edge and to
// stop reaching a deregistered one:
// go test -run '^$' -bench KitexClientOverEtcd -benchtime 10x ./registry/etcdreg/
func BenchmarkKitexClientOverEtcd(b *testing.B) {
	etcd := testenv.Etcd(b)
	cfg := testConfig(etcd.Addr)
	cli := newClient(b, cfg)
	d := NewDiscovery(cli, cfg, nil)
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	register := func(name, addr string) *Registrar {
		r := NewRegistrar(cli, cfg, nil)
		inst := edgeInstance(name)
		inst.Addrs.RPC = addr
		if err := r.Register(ctx, inst); err != nil {
			b.Fatal(err)
		}
		return r
	}
	r1 := register("edge-1", reachtest.StartEdge(b, "edge-1"))
	defer r1.Deregister(ctx)
	addr2 := reachtest.StartEdge(b, "edge-2")
	kc := reachtest.NewClient(b, registry.NewResolver(d).ClientOptions()...)
	kc.Until("first edge", "edge-1", true)
	var added, dropped time.Duration
	b.ResetTimer()
	for range b.N {
		r2 := register("edge-2", addr2)
		added += kc.Until("new edge", "edge-2", false)
		if err := r2.Deregister(ctx); err != nil {
			b.Fatal(err)
		}
		dropped += kc.Until("deregistered edge", "edge-1", true)
	}
	b.ReportMetric(float64(added.Milliseconds())/float64(b.N), "add-ms")
	b.ReportMetric(float64(dropped.Milliseconds())/float64(b.N), "drop-ms")
}
