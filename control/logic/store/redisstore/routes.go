package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// AddRoute implements store.Store.
func (s *Store) AddRoute(ctx context.Context, r store.Route, ttl time.Duration) (err error) {
	defer observe("add_route", time.Now(), &err)
	if err := store.ValidateRoute(r, ttl); err != nil {
		return err
	}
	err = addRouteScript.Run(ctx, s.rdb,
		[]string{s.keys.route(r.Key), s.keys.mid(r.Mid)},
		routeValue(r.Mid, r.Server), r.Key, r.Server, ms(ttl)).Err()
	if err != nil {
		return fmt.Errorf("redis store: add route mid %d key %s: %w", r.Mid, r.Key, err)
	}
	return nil
}

// RenewRoute implements store.Store.
func (s *Store) RenewRoute(ctx context.Context, r store.Route, ttl time.Duration) (err error) {
	defer observe("renew_route", time.Now(), &err)
	if err := store.ValidateRoute(r, ttl); err != nil {
		return err
	}
	err = renewRouteScript.Run(ctx, s.rdb,
		[]string{s.keys.route(r.Key), s.keys.mid(r.Mid)},
		routeValue(r.Mid, r.Server), r.Key, r.Server, ms(ttl)).Err()
	if err != nil {
		return fmt.Errorf("redis store: renew route mid %d key %s: %w", r.Mid, r.Key, err)
	}
	return nil
}

// DelRoute implements store.Store.
func (s *Store) DelRoute(ctx context.Context, r store.Route) (removed bool, err error) {
	defer observe("del_route", time.Now(), &err)
	if err := store.ValidateRoute(r, time.Second); err != nil {
		return false, err
	}
	n, err := delRouteScript.Run(ctx, s.rdb,
		[]string{s.keys.route(r.Key), s.keys.mid(r.Mid)},
		r.Server, r.Key).Int()
	if err != nil {
		return false, fmt.Errorf("redis store: del route mid %d key %s: %w", r.Mid, r.Key, err)
	}
	return n == 1, nil
}

// ServersByKeys implements store.Store with one MGET.
func (s *Store) ServersByKeys(ctx context.Context, keys []string) (_ map[string]string, err error) {
	defer observe("servers_by_keys", time.Now(), &err)
	out := make(map[string]string, len(keys))
	err = s.eachRoute(ctx, keys, func(key string, _ int64, server string) { out[key] = server })
	if err != nil {
		return nil, fmt.Errorf("redis store: servers of %d keys: %w", len(keys), err)
	}
	return out, nil
}

// MidsByKeys implements store.Store with one MGET.
func (s *Store) MidsByKeys(ctx context.Context, keys []string) (_ map[string]int64, err error) {
	defer observe("mids_by_keys", time.Now(), &err)
	out := make(map[string]int64, len(keys))
	err = s.eachRoute(ctx, keys, func(key string, mid int64, _ string) { out[key] = mid })
	if err != nil {
		return nil, fmt.Errorf("redis store: mids of %d keys: %w", len(keys), err)
	}
	return out, nil
}

// eachRoute reads the routes of keys with one MGET and calls fn for each
// key that has one.
func (s *Store) eachRoute(ctx context.Context, keys []string, fn func(key string, mid int64, server string)) error {
	if len(keys) == 0 {
		return nil
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = s.keys.route(k)
	}
	vals, err := s.rdb.MGet(ctx, names...).Result()
	if err != nil {
		return err
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		if mid, server, ok := parseRouteValue(str); ok {
			fn(keys[i], mid, server)
		}
	}
	return nil
}

// KeysByMids implements store.Store: one pipeline reads the mid indexes,
// one MGET confirms each key still routes to that mid and server, so
// expired and moved keys are left out.
func (s *Store) KeysByMids(ctx context.Context, mids []int64) (_ map[string]string, err error) {
	defer observe("keys_by_mids", time.Now(), &err)
	out := make(map[string]string)
	if len(mids) == 0 {
		return out, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(mids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, mid := range mids {
			cmds[i] = p.HGetAll(ctx, s.keys.mid(mid))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: keys of %d mids: %w", len(mids), err)
	}
	// A key may sit in several asked mids' indexes (it moved between
	// users); it belongs to whichever its route value names.
	type entry struct {
		mid    int64
		server string
	}
	want := make(map[string][]entry)
	var candidates []string
	for i, cmd := range cmds {
		for key, server := range cmd.Val() {
			if _, ok := want[key]; !ok {
				candidates = append(candidates, key)
			}
			want[key] = append(want[key], entry{mids[i], server})
		}
	}
	if len(candidates) == 0 {
		return out, nil
	}
	names := make([]string, len(candidates))
	for i, k := range candidates {
		names[i] = s.keys.route(k)
	}
	vals, err := s.rdb.MGet(ctx, names...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis store: confirm %d keys of %d mids: %w", len(candidates), len(mids), err)
	}
	var stale []store.Route
	for i, v := range vals {
		str, _ := v.(string)
		key := candidates[i]
		for _, e := range want[key] {
			if str == routeValue(e.mid, e.server) {
				out[key] = e.server
			} else {
				stale = append(stale, store.Route{Mid: e.mid, Key: key, Server: e.server})
			}
		}
	}
	s.prune(ctx, stale)
	return out, nil
}

// prune drops index fields whose routes expired or moved (a crashed edge
// never sends Disconnect), so an always-online user's index does not grow
// with every dead connection. Best effort: the answer is already right, and
// a failure only leaves the fields for the next reader.
func (s *Store) prune(ctx context.Context, stale []store.Route) {
	if len(stale) == 0 {
		return
	}
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range stale {
			pruneIndexScript.Eval(ctx, p, []string{s.keys.route(r.Key), s.keys.mid(r.Mid)},
				routeValue(r.Mid, r.Server), r.Key, r.Server)
		}
		return nil
	})
}
