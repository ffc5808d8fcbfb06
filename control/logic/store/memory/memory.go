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
	// base anchors route expiry stamps (see stamp).
	base time.Time
	// epoch is the store's generation (store.Store.Epoch), fixed at New.
	epoch string

	mu   sync.RWMutex
	keys map[string]keyRoute
	// mids holds one key of each user and moreKeys the others of users
	// with several devices. Standalone keeps an entry per connected
	// device, so the common case (one key) is a string in a map, with no
	// set or slice of its own.
	mids      map[int64]string
	moreKeys  map[int64][]string
	edges     map[string]edgeReport
	lastSweep time.Time
}

// keyRoute is one device's route, kept compact (one per connection).
type keyRoute struct {
	mid     int64
	expires int64 // a stamp
	server  string
}

// live reports whether the route has not expired at now (a stamp).
func (r keyRoute) live(now int64) bool { return r.expires > now }

// stamp is t as nanoseconds since the store was made: an int64 (half a
// time.Time, and there is one per connection), on the monotonic clock
// like time.Time comparisons, so wall-clock steps do not expire routes.
func (s *Store) stamp(t time.Time) int64 { return int64(t.Sub(s.base)) }

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
		now:      time.Now,
		base:     time.Now(),
		epoch:    store.NewEpoch(),
		keys:     make(map[string]keyRoute),
		mids:     make(map[int64]string),
		moreKeys: make(map[int64][]string),
		edges:    make(map[string]edgeReport),
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
	nanos := s.stamp(now)
	for k, cur := range s.keys {
		if !cur.live(nanos) {
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
