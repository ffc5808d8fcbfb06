package edge

import (
	"context"
	"errors"
	"testing"

	edgeapi "github.com/goim-edge/goim-edge/kitex_gen/edge"
)

// TestRefusingStates: an edge takes devices until max_connections are
// open (and again once one closes), and refuses them for good once
// drained over its RPC service.
func TestRefusingStates(t *testing.T) {
	cl := newCluster(t, func(c *Config) { c.MaxConnections = 1 }, nil)
	if err := cl.edge.Refusing(); err != nil {
		t.Fatalf("fresh edge refuses: %v", err)
	}
	a := dialTCP(t, cl.edge.Addrs().TCP)
	a.auth(token(1, "k-ready-a", nil))
	eventually(t, "the edge to be full", func() bool { return errors.Is(cl.edge.Refusing(), errFull) })
	_ = a.c.Close()
	eventually(t, "the slot to free", func() bool { return cl.edge.Refusing() == nil })

	if _, err := cl.rpc.Drain(context.Background(), &edgeapi.DrainReq{}); err != nil {
		t.Fatal(err)
	}
	if err := cl.edge.Refusing(); !errors.Is(err, errDraining) {
		t.Fatalf("drained edge: %v, want errDraining", err)
	}
}
