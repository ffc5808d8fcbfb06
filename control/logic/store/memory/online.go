package memory

import (
	"context"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// PutOnline implements store.Store. The report replaces the edge's previous
// one whole, so a room the edge no longer reports disappears.
func (s *Store) PutOnline(ctx context.Context, o store.Online, ttl time.Duration) error {
	if err := store.ValidateOnline(o, ttl); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rooms := make(map[string]int32, len(o.RoomCount))
	for room, n := range o.RoomCount {
		if n > 0 {
			rooms[room] = n
		}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweep(now)
	s.edges[o.Server] = edgeReport{rooms: rooms, conns: o.ConnCount, ips: o.IPCount, expires: now.Add(ttl)}
	return nil
}

// RoomCounts implements store.Store.
func (s *Store) RoomCounts(ctx context.Context) (map[string]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	out := make(map[string]int64)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.edges {
		if !e.expires.After(now) {
			continue
		}
		for room, n := range e.rooms {
			out[room] += int64(n)
		}
	}
	return out, nil
}

// Totals implements store.Store.
func (s *Store) Totals(ctx context.Context) (conns, ips int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.edges {
		if e.expires.After(now) {
			conns += int64(e.conns)
			ips += int64(e.ips)
		}
	}
	return conns, ips, nil
}
