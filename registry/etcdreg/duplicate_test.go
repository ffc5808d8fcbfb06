package etcdreg

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/registry"
)

// Two nodes configured with one node id: the second is refused with
// ErrDuplicateNode, and the first keeps its key, value and lease, through
// the second's attempt and its Deregister.
func TestDuplicateNodeIDRefused(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	ctx := testCtx(t)
	first := NewRegistrar(newClient(t, cfg), cfg, nil)
	inst := edgeInstance("edge-dup")
	if err := first.Register(ctx, inst); err != nil {
		t.Fatal(err)
	}
	defer first.Deregister(ctx)
	key := "/test/goim.edge/sh/edge-dup"

	other := inst
	other.Addrs.RPC = "127.0.0.2:3109" // another machine, same id
	second := NewRegistrar(newClient(t, cfg), cfg, nil)
	err := second.Register(ctx, other)
	if !errors.Is(err, registry.ErrDuplicateNode) {
		t.Fatalf("second Register = %v, want ErrDuplicateNode", err)
	}
	t.Logf("refused: %v", err)
	if err := second.CheckRegistration(ctx); !errors.Is(err, registry.ErrNotRegistered) {
		t.Errorf("second CheckRegistration = %v, want ErrNotRegistered", err)
	}
	if err := second.Deregister(ctx); err != nil {
		t.Errorf("second Deregister = %v", err)
	}
	got, lease, ok := get(t, first.cli, key)
	if !ok || clientv3.LeaseID(lease) != first.Lease() || got.Addrs.RPC != inst.Addrs.RPC {
		t.Fatalf("first node's key after the duplicate: ok=%v lease=%x (want %x) rpc=%q", ok, lease, first.Lease(), got.Addrs.RPC)
	}
	if err := first.CheckRegistration(ctx); err != nil {
		t.Errorf("first CheckRegistration = %v", err)
	}
	// An Update by the first still lands on its own lease.
	inst.Conns = 7
	if err := first.Update(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := get(t, first.cli, key); got.Conns != 7 {
		t.Errorf("conns after update = %d, want 7", got.Conns)
	}
}

// A node restarted before its previous run's lease expired (same id,
// same addresses) takes its key over instead of being refused.
func TestRestartedNodeTakesItsKeyBack(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	cfg.TTL = time.Minute // the old lease outlives the test
	ctx := testCtx(t)
	oldCli, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := NewRegistrar(oldCli, cfg, nil)
	inst := edgeInstance("edge-restart")
	if err := old.Register(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	oldLease := old.Lease()
	oldCli.Close() // the process died: no Deregister, the lease lives on

	fresh := NewRegistrar(newClient(t, cfg), cfg, nil)
	if err := fresh.Register(ctx, inst); err != nil {
		t.Fatalf("restarted node refused: %v", err)
	}
	defer fresh.Deregister(ctx)
	_, lease, ok := get(t, fresh.cli, "/test/goim.edge/sh/edge-restart")
	if !ok || clientv3.LeaseID(lease) != fresh.Lease() || lease == int64(oldLease) {
		t.Fatalf("key lease %x, want the new %x", lease, fresh.Lease())
	}
}
