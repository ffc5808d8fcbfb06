package app

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/goim-edge/goim-edge/app/obs"
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
	if report := first.(*edgeRole).health.Ready(); report.Status == obs.StatusStarting || slices.Contains(report.Failing, "registration") {
		t.Fatalf("/readyz fails the registration gate (report %+v)", report)
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
	if report := first.(*edgeRole).health.Ready(); slices.Contains(report.Failing, "registration") {
		t.Errorf("first edge's registration gate fails after the duplicate (report %+v)", report)
	}
}
