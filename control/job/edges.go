package job

import (
	"context"
	"log/slog"
	"sort"
	"sync"

	"github.com/goim-edge/goim-edge/registry"
)

// edgeSet is job's view of the registered edges, kept by the registry's
// Watch: it dials edges that appear, and retires those that leave or move
// to another RPC address.
type edgeSet struct {
	cfg Config
	ctx context.Context
	log *slog.Logger

	mu     sync.RWMutex
	byKey  map[string]*edgeConn // registry key → edge
	byNode map[string]*edgeConn // node id (PushMsg.Server) → edge
	list   []*edgeConn          // sorted by key
	closed bool

	retiring sync.WaitGroup
}

func newEdgeSet(ctx context.Context, cfg Config, log *slog.Logger) *edgeSet {
	return &edgeSet{
		cfg:    cfg,
		ctx:    ctx,
		log:    log,
		byKey:  map[string]*edgeConn{},
		byNode: map[string]*edgeConn{},
	}
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
			next[key] = old // same node, same address: keep its client and queue
			continue
		}
		e, err := newEdgeConn(s.ctx, inst, s.cfg, s.log)
		if err != nil {
			s.log.Error("job: cannot create edge client, edge skipped", "edge", key, "err", err)
			continue
		}
		s.log.Info("job: edge added", "edge", inst.Node, "addr", inst.Addrs.RPC)
		next[key] = e
	}
	for key, old := range s.byKey {
		if next[key] != old {
			s.log.Info("job: edge removed", "edge", old.inst.Node, "addr", old.inst.Addrs.RPC)
			s.retire(old)
		}
	}
	s.byKey = next
	s.byNode = make(map[string]*edgeConn, len(next))
	s.list = s.list[:0:0]
	for _, e := range next {
		s.byNode[e.inst.Node] = e
		s.list = append(s.list, e)
	}
	sort.Slice(s.list, func(i, j int) bool { return s.list[i].inst.Key() < s.list[j].inst.Key() })
	edgesGauge.Set(float64(len(next)))
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
		for _, e := range s.byKey {
			s.retire(e)
		}
		s.byKey, s.byNode, s.list = nil, nil, nil
		edgesGauge.Set(0)
	}
	s.mu.Unlock()
	s.retiring.Wait()
}
