package etcdreg

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/server"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeservice "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	"github.com/goim-edge/goim-edge/registry"
)

// namedEdge answers Rooms with its own name.
type namedEdge struct {
	edge.Edge
	name string
}

func (n *namedEdge) Rooms(context.Context, *edge.RoomsReq) (*edge.RoomsResp, error) {
	return &edge.RoomsResp{Rooms: map[string]int32{n.name: 1}}, nil
}

func startEdge(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svr := edgeservice.NewServer(&namedEdge{name: name}, server.WithListener(ln), server.WithExitWaitTime(10*time.Millisecond))
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	t.Cleanup(func() { _ = svr.Stop(); <-done })
	return ln.Addr().String()
}

// TestKitexClientOverEtcd: a real Kitex client resolving through the
// etcd watch reaches a newly registered edge, and stops reaching a
// deregistered one, within a second.
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
	r1 := register("edge-1", startEdge(t, "edge-1"))
	defer r1.Deregister(ctx)

	kc, err := edgeservice.NewClient(registry.ServiceEdge,
		append(registry.NewResolver(d).ClientOptions(), client.WithRPCTimeout(2*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	call := func() string {
		t.Helper()
		resp, err := kc.Rooms(ctx, &edge.RoomsReq{})
		if err != nil {
			t.Fatalf("Rooms: %v", err)
		}
		for name := range resp.Rooms {
			return name
		}
		return ""
	}
	if got := call(); got != "edge-1" {
		t.Fatalf("reached %s", got)
	}

	addr2 := startEdge(t, "edge-2")
	r2 := register("edge-2", addr2)
	start := time.Now()
	for call() != "edge-2" {
		if time.Since(start) > time.Second {
			t.Fatal("new edge not used within 1s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	added := time.Since(start)

	start = time.Now()
	if err := r2.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	for streak := 0; streak < 20; {
		if call() == "edge-1" {
			streak++
			continue
		}
		streak = 0
		if time.Since(start) > time.Second {
			t.Fatal("deregistered edge still used after 1s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("kitex over etcd: new edge used after %v, deregistered edge dropped after %v", added, time.Since(start))
}
