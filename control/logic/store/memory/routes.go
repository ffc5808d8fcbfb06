package memory

import (
	"context"
	"slices"
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
	old, had := s.keys[r.Key]
	if had && old.mid != r.Mid {
		s.unlinkMid(old.mid, r.Key)
	}
	s.keys[r.Key] = keyRoute{mid: r.Mid, server: r.Server, expires: s.stamp(now.Add(ttl))}
	if !had || old.mid != r.Mid {
		s.linkMid(r.Mid, r.Key)
	}
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
	if !ok || cur.server != r.Server || cur.mid != r.Mid || !cur.live(s.stamp(now)) {
		return nil
	}
	cur.expires = s.stamp(now.Add(ttl))
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
	return cur.live(s.stamp(now)), nil
}

// linkMid adds key to mid's keys, which do not hold it; callers hold s.mu.
func (s *Store) linkMid(mid int64, key string) {
	if _, ok := s.mids[mid]; !ok {
		s.mids[mid] = key
		return
	}
	s.moreKeys[mid] = append(s.moreKeys[mid], key)
}

// unlinkMid drops key from mid's keys; callers hold s.mu.
func (s *Store) unlinkMid(mid int64, key string) {
	first, ok := s.mids[mid]
	if !ok {
		return
	}
	more := s.moreKeys[mid]
	i := slices.Index(more, key)
	switch {
	case first == key && len(more) == 0:
		delete(s.mids, mid)
		return
	case first == key: // promote the last of the others
		s.mids[mid] = more[len(more)-1]
		i = len(more) - 1
	case i < 0:
		return
	}
	if len(more) == 1 {
		delete(s.moreKeys, mid)
		return
	}
	// Delete clears the vacated slot, so the array does not keep the key.
	s.moreKeys[mid] = slices.Delete(more, i, i+1)
}

// keysOfMid calls fn with each key of mid; callers hold s.mu.
func (s *Store) keysOfMid(mid int64, fn func(key string)) {
	first, ok := s.mids[mid]
	if !ok {
		return
	}
	fn(first)
	for _, k := range s.moreKeys[mid] {
		fn(k)
	}
}

// ServersByKeys implements store.Store.
func (s *Store) ServersByKeys(ctx context.Context, keys []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nanos := s.stamp(s.now())
	out := make(map[string]string, len(keys))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range keys {
		if cur, ok := s.keys[k]; ok && cur.live(nanos) {
			out[k] = cur.server
		}
	}
	return out, nil
}

// MidsByKeys implements store.Store.
func (s *Store) MidsByKeys(ctx context.Context, keys []string) (map[string]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nanos := s.stamp(s.now())
	out := make(map[string]int64, len(keys))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range keys {
		if cur, ok := s.keys[k]; ok && cur.live(nanos) {
			out[k] = cur.mid
		}
	}
	return out, nil
}

// KeysByMids implements store.Store.
func (s *Store) KeysByMids(ctx context.Context, mids []int64) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nanos := s.stamp(s.now())
	out := make(map[string]string, len(mids))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, mid := range mids {
		s.keysOfMid(mid, func(k string) {
			if cur, ok := s.keys[k]; ok && cur.live(nanos) {
				out[k] = cur.server
			}
		})
	}
	return out, nil
}
