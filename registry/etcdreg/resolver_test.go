package etcdreg

import (
	"testing"

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
