package redisq

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

// Producer XADDs push messages to the stream.
type Producer struct {
	cfg Config
	rdb redis.UniversalClient
	own bool
}

var _ queue.Producer = (*Producer)(nil)

// NewProducer connects lazily to cfg.Addr; a Redis that is down makes
// Publish fail until it is back.
func NewProducer(cfg Config) *Producer {
	cfg = withDefaults(cfg)
	return &Producer{cfg: cfg, rdb: clientOrBroken(cfg), own: true}
}

// NewProducerWithClient publishes through rdb, which the caller closes.
func NewProducerWithClient(rdb redis.UniversalClient, cfg Config) *Producer {
	return &Producer{cfg: withDefaults(cfg), rdb: rdb}
}

// Publish appends msg to the stream (XADD MAXLEN ~).
func (p *Producer) Publish(ctx context.Context, msg *common.PushMsg) error {
	if msg == nil {
		return errors.New("redis queue: publish nil message")
	}
	args := &redis.XAddArgs{
		Stream: p.cfg.Stream,
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
		return wrap("xadd", p.cfg, err)
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
// message within Timeout.
func (p *Producer) publishReplicated(ctx context.Context, args *redis.XAddArgs) error {
	// Half the command timeout, so WAIT answers before the read times out.
	waitFor := p.cfg.Timeout / 2
	var wait *redis.Cmd
	_, err := p.rdb.Pipelined(ctx, func(pp redis.Pipeliner) error {
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
