package redisq

import (
	"context"
	"errors"

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
	err := p.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: p.cfg.Stream,
		MaxLen: p.cfg.MaxLen,
		Approx: p.cfg.MaxLen > 0,
		Values: []any{fieldData, queue.Encode(msg)},
	}).Err()
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
