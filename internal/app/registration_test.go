package app

import (
	"context"
	"errors"
	"testing"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/registry"
)

// An edge registered in etcd reports its registration on /readyz, and a
// second edge started with the same node id is refused with a clear
// error instead of overwriting the first one's registration.
func TestEdgeRegistrationReadyAndDuplicateRefused(t *testing.T) {
	etcd := testenv.Etcd(t)
	edgeConfig := func() *config.Config {
		c := testConfig()
		c.Node.ID = "edge-dup"
		c.Registry.Kind = "etcd"
		c.Registry.Etcd.Endpoints = []string{etcd.Addr}
		c.Edge.AdminAddr = freeAddr(t)
		for _, p := range edgePorts(t) {
			p.set(c, p.addr)
		}
		return c
	}
	first, err := startWithin(t, func() (node, error) { return startEdgeRole(context.Background(), edgeConfig(), discardLog()) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, first)
	report := first.(*edgeRole).health.Ready(context.Background())
	if got := report.Checks["registration"]; got != "ok" {
		t.Fatalf("/readyz registration check = %q, want ok (report %+v)", got, report)
	}

	second, err := startWithin(t, func() (node, error) { return startEdgeRole(context.Background(), edgeConfig(), discardLog()) })
	if err == nil {
		stopNode(t, second)
		t.Fatal("a second edge with the same node id started")
	}
	if !errors.Is(err, registry.ErrDuplicateNode) {
		t.Fatalf("second edge start = %v, want ErrDuplicateNode", err)
	}
	t.Logf("second edge refused: %v", err)
	if got := first.(*edgeRole).health.Ready(context.Background()).Checks["registration"]; got != "ok" {
		t.Errorf("first edge's registration after the duplicate = %q, want ok", got)
	}
}
