package static

import (
	"context"
	"fmt"
	"sync"

	"github.com/goim-edge/goim-edge/registry"
)

// Registrar registers one node in a static Registry: in standalone mode
// the local edge publishes itself and its live counts through it, so the
// nodes API shows it as it would show an etcd-registered edge.
type Registrar struct {
	reg *Registry

	mu   sync.Mutex
	inst registry.Instance
	on   bool
}

var _ registry.Registrar = (*Registrar)(nil)

// Registrar returns a registrar that publishes into r.
func (r *Registry) Registrar() *Registrar { return &Registrar{reg: r} }

// Register adds inst to the registry. Calling it again replaces the
// registered instance (and removes the old one if its Key differs). The
// entry stays until Deregister; ctx only bounds the call, since nothing
// here expires.
func (g *Registrar) Register(ctx context.Context, inst registry.Instance) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("static: register %s: %w", inst.Key(), err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.reg.Add(inst); err != nil {
		return err
	}
	if g.on && g.inst.Key() != inst.Key() {
		g.reg.Remove(g.inst)
	}
	g.inst, g.on = inst, true
	return nil
}

// Update replaces the registered value; inst must have the registered
// Key.
func (g *Registrar) Update(ctx context.Context, inst registry.Instance) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("static: update %s: %w", inst.Key(), err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.on {
		return fmt.Errorf("static: update %s: not registered", inst.Key())
	}
	if inst.Key() != g.inst.Key() {
		return fmt.Errorf("static: update %s: registered as %s", inst.Key(), g.inst.Key())
	}
	if err := g.reg.Update(inst); err != nil {
		return err
	}
	g.inst = inst
	return nil
}

// Deregister removes the node from the registry. It is a no-op when not
// registered.
func (g *Registrar) Deregister(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.on {
		g.reg.Remove(g.inst)
		g.on = false
	}
	return nil
}
