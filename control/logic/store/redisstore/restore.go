package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// Epoch implements store.Store with one script call: GET the epoch key,
// or SET a fresh random one when it is missing.
func (s *Store) Epoch(ctx context.Context) (_ string, err error) {
	defer observe("epoch", time.Now(), &err)
	v, err := epochScript.Run(ctx, s.rdb, []string{s.keys.epoch()}, store.NewEpoch()).Text()
	if err != nil {
		return "", fmt.Errorf("redis store: epoch: %w", err)
	}
	return v, nil
}

// RestoreRoutes implements store.Store: one pipeline of conditional
// writes (a script per route), so a page of routes costs one round trip.
func (s *Store) RestoreRoutes(ctx context.Context, routes []store.Route, ttl time.Duration) (_ int, err error) {
	defer observe("restore_routes", time.Now(), &err)
	for _, r := range routes {
		if err := store.ValidateRoute(r, ttl); err != nil {
			return 0, err
		}
	}
	if len(routes) == 0 {
		return 0, nil
	}
	// Load the script once so the pipeline can use EVALSHA for every route.
	if err := restoreRouteScript.Load(ctx, s.rdb).Err(); err != nil {
		return 0, fmt.Errorf("redis store: restore %d routes: load script: %w", len(routes), err)
	}
	cmds := make([]*redis.Cmd, len(routes))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range routes {
			cmds[i] = restoreRouteScript.EvalSha(ctx, p,
				[]string{s.keys.route(r.Key), s.keys.mid(r.Mid)},
				routeValue(r.Mid, r.Server), r.Key, r.Server, ms(ttl))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("redis store: restore %d routes: %w", len(routes), err)
	}
	n := 0
	for _, c := range cmds {
		if v, _ := c.Int(); v == 1 {
			n++
		}
	}
	return n, nil
}
