// Package redisstore is the store.Store of clustered deployments: routes
// and per-edge online reports in Redis (go-redis v9), shared by every logic
// instance. Each call is one or two round trips (Lua scripts for atomic
// route changes, pipelines for batch reads).
package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/redisconn"
)

// Store is a store.Store on Redis. Calls fail fast with wrapped errors while
// Redis is unreachable and work again once it is back.
type Store struct {
	rdb  redis.UniversalClient
	keys keys
}

var _ store.Store = (*Store)(nil)

// New connects lazily: it checks cfg but does not dial, so logic starts
// (and degrades) with Redis down. Use Ping to check reachability.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rdb, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Store{rdb: rdb, keys: newKeys(cfg)}, nil
}

// NewClient is the go-redis client New uses for cfg (checked by the
// caller), shared so other Redis users of logic (the history streams)
// reach the same Redis (single, cluster or sentinel, TLS, ACL) and fail
// as fast in an outage.
func NewClient(cfg Config) (redis.UniversalClient, error) {
	rdb, err := redisconn.New(cfg.Config, redisconn.Options{
		PoolSize:     cfg.PoolSize,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
		PoolTimeout:  cfg.PoolTimeout,
		MaxRetries:   cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	return rdb, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis store: ping: %w", err)
	}
	return nil
}

// Close releases the connection pool.
func (s *Store) Close() error {
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("redis store: close: %w", err)
	}
	return nil
}

// ms converts a ttl to Redis milliseconds, never rounding a positive ttl
// down to 0 (which Redis refuses).
func ms(ttl time.Duration) int64 {
	return max(1, (ttl + time.Millisecond - 1).Milliseconds())
}
