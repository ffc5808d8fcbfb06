package job

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/registry"
)

// edgeSet is job's view of the registered edges, kept by the registry's
// Watch: it dials edges that appear, and retires those that left the
// registry and stayed gone for EdgeGrace, or moved to another RPC address.
//
// Why a grace period: a registration lapses without the edge going away
// (etcd stalled past the lease TTL: every lease expires at once and every
// edge re-registers a moment later). Removing such an edge at once drops
// what is addressed to it in the gap. An edge that really went away fails
// its RPCs during the grace instead: the breaker parks its messages in its
// outbox (a lapse that heals gets them), and retiring it after the grace
// counts them lost (edge_gone); its devices are gone with it anyway.
//
// Draining edges (Instance.Draining) stay targets like any other: they
// still hold devices until their last one has gone, then deregister.
type edgeSet struct {
	cfg Config
	ctx context.Context
	log *slog.Logger

	mu      sync.RWMutex
	byKey   map[string]*edgeConn   // registry key → edge, in grace included
	byNode  map[string]*edgeConn   // node id (PushMsg.Server) → edge
	list    []*edgeConn            // sorted by key
	leaving map[string]*time.Timer // registry key → end of its grace
	// removed lists nodes retired after their grace, so keys pushes for
	// them are given up on at once instead of waiting for them again.
	removed map[string]struct{}
	// changed is closed and replaced on every change of the set, for
	// keys pushes waiting for their edge.
	changed chan struct{}
	// readyAt is when job had its first complete view; until readyAt +
	// EdgeGrace an edge job has never seen may still be registering.
	readyAt time.Time
	closed  bool

	retiring sync.WaitGroup
}

func newEdgeSet(ctx context.Context, cfg Config, log *slog.Logger) *edgeSet {
	return &edgeSet{
		cfg:     cfg,
		ctx:     ctx,
		log:     log,
		byKey:   map[string]*edgeConn{},
		byNode:  map[string]*edgeConn{},
		leaving: map[string]*time.Timer{},
		removed: map[string]struct{}{},
		changed: make(chan struct{}),
		readyAt: time.Now(),
	}
}

// markReady records that the view is complete from now on.
func (s *edgeSet) markReady() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readyAt = time.Now()
}

// update applies a full registry view. It must stay quick (it runs in the
// registry's watch callback): clients are created without dialing, and
// retired edges drain in the background.
func (s *edgeSet) update(insts []registry.Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	next := make(map[string]*edgeConn, len(insts))
	for _, inst := range insts {
		key := inst.Key()
		if inst.Addrs.RPC == "" {
			s.log.Warn("job: registered edge has no rpc address, ignoring it", "edge", key)
			continue
		}
		if old := s.byKey[key]; old != nil && old.inst.Addrs.RPC == inst.Addrs.RPC {
			// Same node, same address: keep its client and queue.
			if t := s.leaving[key]; t != nil {
				t.Stop()
				delete(s.leaving, key)
				edgesLeaving.Dec()
				s.log.Info("job: edge registered again within its grace period", "edge", inst.Node, "addr", inst.Addrs.RPC)
			}
			next[key] = old
			continue
		}
		e, err := newEdgeConn(s.ctx, inst, s.cfg, s.log, s.fastPeer)
		if err != nil {
			s.log.Error("job: cannot create edge client, edge skipped", "edge", key, "err", err)
			continue
		}
		s.log.Info("job: edge added", "edge", inst.Node, "addr", inst.Addrs.RPC, "draining", inst.Draining)
		delete(s.removed, inst.Node)
		next[key] = e
	}
	for key, old := range s.byKey {
		switch {
		case next[key] == old:
		case next[key] != nil:
			// The node moved to another address: the old one is gone.
			s.log.Info("job: edge moved", "edge", old.inst.Node, "from", old.inst.Addrs.RPC, "to", next[key].inst.Addrs.RPC)
			s.dropLeaving(key)
			s.retire(old)
		case s.cfg.EdgeGrace <= 0:
			s.log.Info("job: edge removed", "edge", old.inst.Node, "addr", old.inst.Addrs.RPC)
			s.removed[old.inst.Node] = struct{}{}
			s.retire(old)
		default:
			// Left the registry: still a target until its grace ends.
			next[key] = old
			if s.leaving[key] == nil {
				s.log.Warn("job: edge left the registry; still pushing to it during the grace period",
					"edge", old.inst.Node, "addr", old.inst.Addrs.RPC, "grace", s.cfg.EdgeGrace)
				edgesLeaving.Inc()
				s.leaving[key] = time.AfterFunc(s.cfg.EdgeGrace, func() { s.expire(key, old) })
			}
		}
	}
	s.setLocked(next)
}

// expire removes e (registry key key) if it is still out of the registry
// when its grace ends.
func (s *edgeSet) expire(key string, e *edgeConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.byKey[key] != e || s.leaving[key] == nil {
		return
	}
	s.dropLeaving(key)
	s.log.Warn("job: edge removed: it stayed out of the registry for the whole grace period",
		"edge", e.inst.Node, "addr", e.inst.Addrs.RPC, "grace", s.cfg.EdgeGrace)
	s.removed[e.inst.Node] = struct{}{}
	s.retire(e)
	next := make(map[string]*edgeConn, len(s.byKey))
	for k, v := range s.byKey {
		if k != key {
			next[k] = v
		}
	}
	s.setLocked(next)
}

// dropLeaving stops key's grace timer, if any; callers hold s.mu.
func (s *edgeSet) dropLeaving(key string) {
	if t := s.leaving[key]; t != nil {
		t.Stop()
		delete(s.leaving, key)
		edgesLeaving.Dec()
	}
}

// setLocked installs next as the set and wakes waiters; callers hold s.mu.
func (s *edgeSet) setLocked(next map[string]*edgeConn) {
	s.byKey = next
	s.byNode = make(map[string]*edgeConn, len(next))
	s.list = s.list[:0:0]
	for _, e := range next {
		s.byNode[e.inst.Node] = e
		s.list = append(s.list, e)
	}
	sort.Slice(s.list, func(i, j int) bool { return s.list[i].inst.Key() < s.list[j].inst.Key() })
	edgesGauge.Set(float64(len(next)))
	close(s.changed)
	s.changed = make(chan struct{})
}

// retire closes e in the background; callers hold s.mu.
func (s *edgeSet) retire(e *edgeConn) {
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		e.close()
	}()
}

// node is the edge whose node id is id, or nil.
func (s *edgeSet) node(id string) *edgeConn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byNode[id]
}

// awaitNode is the edge whose node id is id, waiting for it while it may
// still be registering: job has not seen it and its first complete view
// is younger than EdgeGrace. It returns nil when the edge is known to be
// gone (it was retired after its grace), the wait ran out, or ctx ended.
func (s *edgeSet) awaitNode(ctx context.Context, id string) *edgeConn {
	for {
		s.mu.RLock()
		e, changed, closed := s.byNode[id], s.changed, s.closed
		_, removed := s.removed[id]
		wait := time.Until(s.readyAt.Add(s.cfg.EdgeGrace))
		s.mu.RUnlock()
		if e != nil || closed || removed || wait <= 0 {
			return e
		}
		t := time.NewTimer(wait)
		select {
		case <-changed:
			t.Stop()
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// fastPeer reports whether an edge other than self answers pushes well
// under SlowCall on average (see edgeConn.slowCounts). It runs only after
// a slow call, so walking the list is cheap enough.
func (s *edgeSet) fastPeer(self *edgeConn) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.list {
		if e == self || e.brk.isOpen() {
			continue
		}
		if l := e.latency.Load(); l > 0 && time.Duration(l) < s.cfg.SlowCall {
			return true
		}
	}
	return false
}

// all is every edge; the slice must not be changed.
func (s *edgeSet) all() []*edgeConn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.list
}

// close retires every edge and waits until they have drained.
func (s *edgeSet) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for key := range s.leaving {
			s.dropLeaving(key)
		}
		for _, e := range s.byKey {
			s.retire(e)
		}
		s.byKey, s.byNode, s.list = nil, nil, nil
		edgesGauge.Set(0)
		close(s.changed)
	}
	s.mu.Unlock()
	s.retiring.Wait()
}
