package redisq

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

// Producer XADDs push messages to the stream of their target's shard.
type Producer struct {
	cfg     Config
	rdb     redis.UniversalClient
	own     bool
	streams []string // shardStreams(cfg)
}

var _ queue.Producer = (*Producer)(nil)

// NewProducer connects lazily to cfg.Addr; a Redis that is down makes
// Publish fail until it is back.
func NewProducer(cfg Config) *Producer {
	cfg = withDefaults(cfg)
	return &Producer{cfg: cfg, rdb: clientOrBroken(cfg), own: true, streams: shardStreams(cfg)}
}

// NewProducerWithClient publishes through rdb, which the caller closes.
func NewProducerWithClient(rdb redis.UniversalClient, cfg Config) *Producer {
	cfg = withDefaults(cfg)
	return &Producer{cfg: cfg, rdb: rdb, streams: shardStreams(cfg)}
}

// Publish appends msg to the stream of its target's shard (XADD MAXLEN ~).
func (p *Producer) Publish(ctx context.Context, msg *common.PushMsg) error {
	if msg == nil {
		return errors.New("redis queue: publish nil message")
	}
	stream := p.streams[shardOf(queue.TargetKey(msg), len(p.streams))]
	args := &redis.XAddArgs{
		Stream: stream,
		MaxLen: p.cfg.MaxLen,
		Approx: p.cfg.MaxLen > 0,
		Values: []any{fieldData, queue.Encode(msg)},
	}
	var err error
	if p.cfg.WaitReplicas > 0 {
		err = p.publishReplicated(ctx, args)
	} else {
		err = p.rdb.XAdd(ctx, args).Err()
	}
	if err != nil {
		queue.PublishErrorsTotal.WithLabelValues(kind).Inc()
		return fmt.Errorf("redis queue: xadd %s: %w", stream, err)
	}
	queue.PublishedTotal.WithLabelValues(kind).Inc()
	return nil
}

// Close closes the client if the producer made it.
func (p *Producer) Close() error {
	if p.own {
		return p.rdb.Close()
	}
	return nil
}

// publishReplicated sends XADD and WAIT in one pipeline, so they share a
// connection (WAIT counts the replicas that acknowledged the writes of
// its own connection), and fails unless WaitReplicas replicas have the
// message within Timeout. In a cluster the pipeline goes to the master
// of the stream's slot (a cluster pipeline would send the keyless WAIT
// to any node), and a failure makes the client reload the slot map, so
// the next publish finds a promoted replica.
func (p *Producer) publishReplicated(ctx context.Context, args *redis.XAddArgs) error {
	var rdb redis.Cmdable = p.rdb
	if cc, ok := p.rdb.(*redis.ClusterClient); ok {
		node, err := cc.MasterForKey(ctx, args.Stream)
		if err != nil {
			cc.ReloadState(ctx)
			return fmt.Errorf("master of %s: %w", args.Stream, err)
		}
		if err := p.xaddWait(ctx, node, args); err != nil {
			cc.ReloadState(ctx)
			return err
		}
		return nil
	}
	return p.xaddWait(ctx, rdb, args)
}

// xaddWait is XADD then WAIT on one connection of rdb.
func (p *Producer) xaddWait(ctx context.Context, rdb redis.Cmdable, args *redis.XAddArgs) error {
	// Half the command timeout, so WAIT answers before the read times out.
	waitFor := p.cfg.Timeout / 2
	var wait *redis.Cmd
	_, err := rdb.Pipelined(ctx, func(pp redis.Pipeliner) error {
		pp.XAdd(ctx, args)
		wait = pp.Do(ctx, "WAIT", p.cfg.WaitReplicas, max(1, waitFor.Milliseconds()))
		return nil
	})
	if err != nil {
		return err
	}
	n, err := wait.Int64()
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	if n < int64(p.cfg.WaitReplicas) {
		return fmt.Errorf("written but held by %d of %d replicas after %v (wait_replicas)", n, p.cfg.WaitReplicas, waitFor)
	}
	return nil
}
