package registry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

// countingRegistrar counts the Updates that reach the registry.
type countingRegistrar struct {
	registry.Registrar
	updates atomic.Int64
}

func (c *countingRegistrar) Update(ctx context.Context, inst registry.Instance) error {
	c.updates.Add(1)
	return c.Registrar.Update(ctx, inst)
}

func TestKeepUpdated(t *testing.T) {
	reg := static.New()
	r := &countingRegistrar{Registrar: reg.Registrar()}
	base := inst("edge-1", "127.0.0.1:1", 10)
	if err := r.Register(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	var draining atomic.Bool
	current := func() registry.Instance {
		in := base
		in.Conns, in.IPs = int(conns.Load()), int(conns.Load()/2)
		in.Draining = draining.Load()
		return in
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { registry.KeepUpdated(ctx, r, 10*time.Millisecond, current, nil); close(done) }()

	wait := func(what string, cond func(registry.Instance) bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for {
			if l := reg.Instances(registry.ServiceEdge); len(l) == 1 && cond(l[0]) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not published", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	conns.Store(40)
	wait("counts", func(in registry.Instance) bool { return in.Conns == 40 && in.IPs == 20 })
	draining.Store(true)
	wait("draining", func(in registry.Instance) bool { return in.Draining && in.Conns == 40 })

	// Nothing changes: no more writes.
	n := r.updates.Load()
	time.Sleep(100 * time.Millisecond)
	if extra := r.updates.Load() - n; extra != 0 {
		t.Fatalf("%d updates without a change", extra)
	}
	cancel()
	<-done
}
