package kafkaq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

// Producer produces push messages keyed by target.
type Producer struct {
	cfg Config
	cl  *kgo.Client
}

var _ queue.Producer = (*Producer)(nil)

// NewProducer makes a client for cfg.Brokers (it connects lazily). With
// cfg.CreateTopics it creates the topics first, which needs a broker.
// log (nil: slog.Default()) gets the client's reports of broker trouble.
func NewProducer(ctx context.Context, cfg Config, log *slog.Logger) (*Producer, error) {
	if log == nil {
		log = slog.Default()
	}
	cfg = withDefaults(cfg)
	base, err := baseOpts(cfg, log)
	if err != nil {
		return nil, err
	}
	opts := append(base,
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.ProducerLinger(cfg.Linger),
		kgo.RecordDeliveryTimeout(cfg.ProduceTimeout+cfg.Linger),
		// The default partitioner hashes keys like Kafka's Java client
		// (murmur2), so other tools agree on which partition holds a target.
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka queue: producer: %w", err)
	}
	if cfg.CreateTopics {
		if err := CreateTopics(ctx, cl, cfg); err != nil {
			cl.Close()
			return nil, err
		}
	}
	return &Producer{cfg: cfg, cl: cl}, nil
}

// Publish produces msg and waits for the brokers' acknowledgement, or
// for ctx. The idempotent producer cannot withdraw a record once a request
// carrying it was sent, so a Publish cut short by ctx may still be
// delivered later: the error says so.
func (p *Producer) Publish(ctx context.Context, msg *common.PushMsg) error {
	if msg == nil {
		return errors.New("kafka queue: publish nil message")
	}
	r := &kgo.Record{Key: []byte(queue.TargetKey(msg)), Value: queue.Encode(msg)}
	done := make(chan error, 1)
	p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done <- err })
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("%w (the record may still be delivered)", ctx.Err())
	}
	if err != nil {
		queue.PublishErrorsTotal.WithLabelValues(kind).Inc()
		return fmt.Errorf("kafka queue: produce to %s: %w", p.cfg.Topic, err)
	}
	queue.PublishedTotal.WithLabelValues(kind).Inc()
	return nil
}

// Close flushes nothing (Publish is synchronous) and closes the client.
func (p *Producer) Close() error {
	p.cl.Close()
	return nil
}
