// Package memory is the in-process store.Store of standalone mode: routes
// and edge reports live in maps guarded by one lock, and expire by the
// same rules as in Redis.
package memory

import (
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// sweepEvery bounds how often a write pays for dropping expired entries, so
// keys that are never touched again do not pile up without a goroutine.
const sweepEvery = 10 * time.Second

// Store keeps routes and online reports in memory. The zero value is not
// usable; call New.
type Store struct {
	now func() time.Time

	mu        sync.RWMutex
	keys      map[string]keyRoute
	mids      map[int64]map[string]struct{}
	edges     map[string]edgeReport
	lastSweep time.Time
}

type keyRoute struct {
	mid     int64
	server  string
	expires time.Time
}

type edgeReport struct {
	rooms   map[string]int32
	conns   int32
	ips     int32
	expires time.Time
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		now:   time.Now,
		keys:  make(map[string]keyRoute),
		mids:  make(map[int64]map[string]struct{}),
		edges: make(map[string]edgeReport),
	}
}

// Close implements store.Store; the memory store holds nothing to release.
func (s *Store) Close() error { return nil }

// maybeSweep drops expired routes and reports; callers hold s.mu.
func (s *Store) maybeSweep(now time.Time) {
	if now.Sub(s.lastSweep) < sweepEvery {
		return
	}
	s.lastSweep = now
	for k, cur := range s.keys {
		if !cur.expires.After(now) {
			delete(s.keys, k)
			s.unlinkMid(cur.mid, k)
		}
	}
	for server, e := range s.edges {
		if !e.expires.After(now) {
			delete(s.edges, server)
		}
	}
}
