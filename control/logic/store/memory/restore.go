package memory

import (
	"context"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// Epoch implements store.Store: the memory store loses its data only with
// the process, so its epoch is fixed at New.
func (s *Store) Epoch(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return s.epoch, nil
}

// RestoreRoutes implements store.Store: each route is written unless its
// key has a live route to another server.
func (s *Store) RestoreRoutes(ctx context.Context, routes []store.Route, ttl time.Duration) (int, error) {
	for _, r := range routes {
		if err := store.ValidateRoute(r, ttl); err != nil {
			return 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := s.now()
	nanos := s.stamp(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweep(now)
	n := 0
	for _, r := range routes {
		old, had := s.keys[r.Key]
		if had && old.live(nanos) && old.server != r.Server {
			continue
		}
		if had && old.mid != r.Mid {
			s.unlinkMid(old.mid, r.Key)
		}
		s.keys[r.Key] = keyRoute{mid: r.Mid, server: r.Server, expires: s.stamp(now.Add(ttl))}
		if !had || old.mid != r.Mid {
			s.linkMid(r.Mid, r.Key)
		}
		n++
	}
	return n, nil
}
