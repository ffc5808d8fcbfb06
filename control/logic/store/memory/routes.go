package memory

import (
	"context"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// AddRoute implements store.Store.
func (s *Store) AddRoute(ctx context.Context, r store.Route, ttl time.Duration) error {
	if err := store.ValidateRoute(r, ttl); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweep(now)
	if old, ok := s.keys[r.Key]; ok && old.mid != r.Mid {
		s.unlinkMid(old.mid, r.Key)
	}
	s.keys[r.Key] = keyRoute{mid: r.Mid, server: r.Server, expires: now.Add(ttl)}
	set := s.mids[r.Mid]
	if set == nil {
		set = make(map[string]struct{}, 1)
		s.mids[r.Mid] = set
	}
	set[r.Key] = struct{}{}
	return nil
}

// RenewRoute implements store.Store.
func (s *Store) RenewRoute(ctx context.Context, r store.Route, ttl time.Duration) error {
	if err := store.ValidateRoute(r, ttl); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.keys[r.Key]
	if !ok || cur.server != r.Server || cur.mid != r.Mid || !cur.expires.After(now) {
		return nil
	}
	cur.expires = now.Add(ttl)
	s.keys[r.Key] = cur
	return nil
}

// DelRoute implements store.Store.
func (s *Store) DelRoute(ctx context.Context, r store.Route) (bool, error) {
	if err := store.ValidateRoute(r, time.Second); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.keys[r.Key]
	if !ok || cur.server != r.Server {
		return false, nil
	}
	delete(s.keys, r.Key)
	s.unlinkMid(cur.mid, r.Key)
	// An expired route was already gone as far as readers could tell.
	return cur.expires.After(now), nil
}

func (s *Store) unlinkMid(mid int64, key string) {
	set := s.mids[mid]
	delete(set, key)
	if len(set) == 0 {
		delete(s.mids, mid)
	}
}

// ServersByKeys implements store.Store.
func (s *Store) ServersByKeys(ctx context.Context, keys []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	out := make(map[string]string, len(keys))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range keys {
		if cur, ok := s.keys[k]; ok && cur.expires.After(now) {
			out[k] = cur.server
		}
	}
	return out, nil
}

// KeysByMids implements store.Store.
func (s *Store) KeysByMids(ctx context.Context, mids []int64) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	out := make(map[string]string, len(mids))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, mid := range mids {
		for k := range s.mids[mid] {
			if cur, ok := s.keys[k]; ok && cur.expires.After(now) {
				out[k] = cur.server
			}
		}
	}
	return out, nil
}
