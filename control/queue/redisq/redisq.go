// Package redisq is the Redis Streams queue: logic XADDs each push to the
// stream of its target's shard (one stream unless Shards > 1), and every
// job joins one consumer group on every shard's stream.
//
// Sharding (shards.go): with Shards = N the queue is N streams, each in
// its own hash slot, so a Redis Cluster spreads XADD and XREADGROUP over
// its masters. Shard 0 is the historical stream; a message goes to shard
// FNV-1a(queue.TargetKey) mod N, so one target's messages are in one
// stream. A consumer runs one reader per shard; everything below holds
// per shard (pending list, claims, poison, acks).
//
// Delivery guarantees:
//   - At least once. A message is XACKed only after the handler returned
//     nil (the edges accepted it). A job that dies leaves its messages in
//     the group's pending list; after ClaimMinIdle another job (or the same
//     one, restarted under the same Consumer name, at once) XAUTOCLAIMs them.
//     A live job's in-flight entries are touched every ClaimMinIdle/3
//     (refresh.go), so a slow handler is never mistaken for a dead one.
//   - Poison (undecodable, queue.ErrPoison, or more than MaxAttempts
//     deliveries counting those to consumers that died) is copied to the
//     dead-letter stream "<stream>:dead" of its shard (same slot) and
//     acked in one MULTI, logged and counted; it never blocks the
//     messages behind it.
//   - Order: one consumer handles the messages of one target
//     (queue.TargetKey) in stream order, retries included: a target's
//     messages are all in one shard's stream, read by one reader. Several
//     consumers share the stream message by message, so messages of one
//     target may be handled by two jobs at once and their order is not
//     guaranteed, nor is the order of messages taken over from a dead
//     consumer. Deployments that need strict per-target order with
//     several jobs use the Kafka queue (partitioned by target).
//   - XADD trims with MAXLEN ~ MaxLen (per shard): a backlog beyond
//     MaxLen loses its oldest messages, acknowledged or not (logged and
//     counted when a claim finds them gone).
//   - WaitReplicas: Publish returns nil only once that many replicas of
//     the master holding the message's stream (Sentinel's master, or the
//     cluster master of the shard's slot) have it.
//   - A consumer reads shards 0..Shards-1. Raising Shards keeps every
//     queued message readable (old shards are a prefix of the new set);
//     lowering it strands messages in the shards above, so drain them
//     first (docs/redis.md).
package redisq

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/redisconn"
)

const kind = queue.KindRedis

// Stream entry fields.
const (
	fieldData     = "d" // queue.Encode of the push message
	fieldOrigID   = "id"
	fieldError    = "err"
	fieldAttempts = "attempts"
)

// Config is the Redis queue's configuration.
type Config = queue.RedisConfig

// DefaultConfig returns the Redis queue's defaults.
func DefaultConfig() Config { return queue.DefaultRedisConfig() }

// DeadStream is the dead-letter stream of cfg.Stream (shard 0; see
// DeadStreams for every shard's).
func DeadStream(cfg Config) string { return streamKey(cfg) + ":dead" }

// streamKey is the key of cfg.Stream. In cluster mode a stream name
// without a hash tag gets one ("{goim-push}"), so the stream and its
// dead-letter stream share a slot: poison is moved with XADD + XACK in
// one MULTI. The whole queue is then one slot (see docs/redis.md).
func streamKey(cfg Config) string {
	if cfg.Stream == "" {
		cfg.Stream = DefaultConfig().Stream
	}
	if cfg.Mode() == redisconn.Cluster && !strings.Contains(cfg.Stream, "{") {
		return "{" + cfg.Stream + "}"
	}
	return cfg.Stream
}

func withDefaults(cfg Config) Config {
	def := DefaultConfig()
	cfg.Stream = streamKey(cfg)
	if cfg.Shards <= 0 {
		cfg.Shards = 1
	}
	if cfg.Group == "" {
		cfg.Group = def.Group
	}
	if cfg.Consumer == "" {
		host, _ := os.Hostname()
		cfg.Consumer = host + "-" + strconv.Itoa(os.Getpid())
	}
	if cfg.Batch <= 0 {
		cfg.Batch = def.Batch
	}
	if cfg.Block <= 0 {
		cfg.Block = def.Block
	}
	if cfg.ClaimMinIdle <= 0 {
		cfg.ClaimMinIdle = def.ClaimMinIdle
	}
	if cfg.ClaimInterval <= 0 {
		cfg.ClaimInterval = def.ClaimInterval
	}
	if cfg.ForgetAfter <= 0 {
		cfg.ForgetAfter = def.ForgetAfter
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = def.DialTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	return cfg
}

// NewClient returns a go-redis client for cfg: a single server, a
// cluster or a Sentinel master (redisconn), over TLS when configured. It
// fails only on settings that cannot work; it does not dial.
func NewClient(cfg Config) (redis.UniversalClient, error) {
	cfg = withDefaults(cfg)
	if err := cfg.ValidateShards(); err != nil {
		return nil, err
	}
	rdb, err := redisconn.New(cfg.Config, redisconn.Options{
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.Timeout,
		WriteTimeout: cfg.Timeout,
		// One blocking reader per shard, plus the ackers, claims and the
		// workers' dead letters.
		PoolSize: 16 + max(cfg.Shards, 1),
	})
	if err != nil {
		return nil, wrap("connect", cfg, err)
	}
	return rdb, nil
}

// Check reports a cfg that NewProducer and NewConsumer could not connect
// with (invalid topology, unreadable TLS files), so a start fails at once
// rather than at the first call.
func Check(cfg Config) error {
	rdb, err := NewClient(cfg)
	if err != nil {
		return err
	}
	return rdb.Close()
}

// clientOrBroken is NewClient for the constructors that cannot fail: a
// cfg it refuses gives a client whose every command fails with the reason.
func clientOrBroken(cfg Config) redis.UniversalClient {
	rdb, err := NewClient(cfg)
	if err == nil {
		return rdb
	}
	return redis.NewClient(&redis.Options{
		Addr:       "unusable:0",
		MaxRetries: -1,
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			return nil, err
		},
	})
}

func wrap(op string, cfg Config, err error) error {
	return fmt.Errorf("redis queue: %s %s: %w", op, cfg.Stream, err)
}
