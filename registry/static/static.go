// Package static is a registry.Discovery over a list of instances held in
// memory: fixed addresses from config in standalone mode, and a
// controllable registry for tests that need no etcd. Add, Update and
// Remove change the list at runtime; Watch subscribers have the new view
// when the call returns.
package static

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/internal/fanout"
)

// Registry is an in-memory registry.Discovery whose list can change at
// runtime. The zero value is not usable; call New.
type Registry struct {
	mu       sync.Mutex
	version  uint64
	services map[string]map[string]registry.Instance // service → Key → instance
	hubs     map[string]*fanout.Hub
}

var _ registry.Discovery = (*Registry)(nil)

// New returns a registry holding instances. Later entries with the same
// Key replace earlier ones; instances without a Service are ignored.
func New(instances ...registry.Instance) *Registry {
	r := &Registry{
		services: make(map[string]map[string]registry.Instance),
		hubs:     make(map[string]*fanout.Hub),
	}
	for _, inst := range instances {
		if inst.Service == "" {
			continue
		}
		r.nodes(inst.Service)[inst.Key()] = inst
	}
	return r
}

// nodes returns service's map, creating it; callers hold r.mu.
func (r *Registry) nodes(service string) map[string]registry.Instance {
	m := r.services[service]
	if m == nil {
		m = make(map[string]registry.Instance)
		r.services[service] = m
	}
	return m
}

// hub returns service's subscriber hub, creating it; callers hold r.mu.
func (r *Registry) hub(service string) *fanout.Hub {
	h := r.hubs[service]
	if h == nil {
		h = &fanout.Hub{}
		r.hubs[service] = h
	}
	return h
}

// view is service's list sorted by key; callers hold r.mu.
func (r *Registry) view(service string) []registry.Instance {
	m := r.services[service]
	out := make([]registry.Instance, 0, len(m))
	for _, inst := range m {
		out = append(out, inst)
	}
	slices.SortFunc(out, func(a, b registry.Instance) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// Instances is the current list of service's nodes, sorted by Key.
func (r *Registry) Instances(service string) []registry.Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.view(service)
}

// Watch calls fn with service's list now and after every change until ctx
// ends. Changes are delivered in the goroutine that made them, so fn must
// not call Add, Update or Remove of this registry.
func (r *Registry) Watch(ctx context.Context, service string, fn func([]registry.Instance)) error {
	if fn == nil {
		return fmt.Errorf("static: watch %s: nil callback", service)
	}
	r.mu.Lock()
	h := r.hub(service)
	r.mu.Unlock()
	h.Subscribe(ctx, func() (uint64, []registry.Instance) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.version, r.view(service)
	}, fn)
	return nil
}

// Add puts inst in the list, replacing the node with the same Key.
func (r *Registry) Add(inst registry.Instance) error {
	if inst.Service == "" {
		return fmt.Errorf("static: add %s: instance has no service", inst.Key())
	}
	r.change(inst.Service, func(m map[string]registry.Instance) bool {
		m[inst.Key()] = inst
		return true
	})
	return nil
}

// Update replaces the node with inst's Key; it fails if that node is not
// in the list, which Add would have made.
func (r *Registry) Update(inst registry.Instance) error {
	var found bool
	r.change(inst.Service, func(m map[string]registry.Instance) bool {
		if _, found = m[inst.Key()]; found {
			m[inst.Key()] = inst
		}
		return found
	})
	if !found {
		return fmt.Errorf("static: update %s: not registered", inst.Key())
	}
	return nil
}

// Remove drops the node with inst's Key; it reports whether it was there.
func (r *Registry) Remove(inst registry.Instance) bool {
	var found bool
	r.change(inst.Service, func(m map[string]registry.Instance) bool {
		if _, found = m[inst.Key()]; found {
			delete(m, inst.Key())
		}
		return found
	})
	return found
}

// change applies edit to service's nodes and, if it changed anything,
// publishes the new view to the service's watchers before returning.
func (r *Registry) change(service string, edit func(map[string]registry.Instance) bool) {
	r.mu.Lock()
	if !edit(r.nodes(service)) {
		r.mu.Unlock()
		return
	}
	r.version++
	v, view, h := r.version, r.view(service), r.hub(service)
	r.mu.Unlock()
	h.Publish(v, view)
}
