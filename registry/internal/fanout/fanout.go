// Package fanout delivers successive views of a service's node list to
// Watch subscribers: in order, never overlapping per subscriber, never an
// older view after a newer one. The static and etcd discoveries share it.
package fanout

import (
	"context"
	"slices"
	"sync"

	"github.com/goim-edge/goim-edge/registry"
)

// Hub holds the subscribers of one service.
type Hub struct {
	mu   sync.Mutex
	subs map[*sub]struct{}
}

type sub struct {
	ctx  context.Context
	mu   sync.Mutex // held while fn runs: serializes calls
	fn   func([]registry.Instance)
	last uint64 // version of the last view given to fn
	done bool
}

// Snapshot returns the current view and its version. Versions grow with
// every change; a publisher must advance the version and store the view
// before it calls Publish, so a subscriber that joins in between sees the
// new view either in its first call or from Publish.
type Snapshot func() (version uint64, view []registry.Instance)

// Subscribe calls fn with the current view before it returns, then with
// every published view newer than the last one fn saw, until ctx ends.
func (h *Hub) Subscribe(ctx context.Context, snap Snapshot, fn func([]registry.Instance)) {
	s := &sub{ctx: ctx, fn: fn}
	s.mu.Lock()
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[*sub]struct{})
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	v, view := snap()
	s.last = v
	fn(slices.Clone(view))
	s.mu.Unlock()

	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
		s.mu.Lock()
		s.done = true
		s.mu.Unlock()
	})
}

// Publish gives view (at version) to every subscriber that has not seen
// it or a newer one. It runs the callbacks in the caller's goroutine, so
// when it returns every current subscriber has the view (or a newer one).
func (h *Hub) Publish(version uint64, view []registry.Instance) {
	h.mu.Lock()
	subs := make([]*sub, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		if !s.done && s.ctx.Err() == nil && version > s.last {
			s.last = version
			s.fn(slices.Clone(view))
		}
		s.mu.Unlock()
	}
}

// Len is the number of live subscribers.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
