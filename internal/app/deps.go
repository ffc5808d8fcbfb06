package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/control/logic/store"
	storemem "github.com/goim-edge/goim-edge/control/logic/store/memory"
	storeredis "github.com/goim-edge/goim-edge/control/logic/store/redis"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/kafkaq"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
)

// openStore opens the configured route/online store.
func openStore(cfg *config.Config) (store.Store, error) {
	switch cfg.Store.Kind {
	case "memory":
		return storemem.New(), nil
	case "redis":
		s, err := storeredis.New(cfg.Store.Redis)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("store: unknown kind %q", cfg.Store.Kind)
	}
}

// openProducer opens logic's side of the configured queue. The memory
// queue only exists inside standalone, which builds it itself.
func openProducer(ctx context.Context, cfg *config.Config, log *slog.Logger) (queue.Producer, error) {
	switch cfg.Queue.Kind {
	case queue.KindRedis:
		return redisq.NewProducer(cfg.Queue.Redis), nil
	case queue.KindKafka:
		return kafkaq.NewProducer(ctx, cfg.Queue.Kafka)
	default:
		return nil, fmt.Errorf("queue: kind %q cannot be shared between processes (use redis or kafka)", cfg.Queue.Kind)
	}
}

// openConsumer opens job's side: every kind in queue.consume (default
// queue.kind) at once, so a move from one queue to another loses nothing
// still queued in the old one.
func openConsumer(cfg *config.Config, log *slog.Logger) (queue.Consumer, error) {
	var cs []queue.Consumer
	for _, k := range cfg.Queue.ConsumeKinds() {
		switch k {
		case queue.KindRedis:
			cs = append(cs, redisq.NewConsumer(cfg.Queue.Redis).WithLogger(log))
		case queue.KindKafka:
			cs = append(cs, kafkaq.NewConsumer(cfg.Queue.Kafka).WithLogger(log))
		default:
			return nil, fmt.Errorf("queue: job cannot consume kind %q from another process (use redis or kafka)", k)
		}
	}
	if len(cs) == 1 {
		return cs[0], nil
	}
	return multiConsumer(cs), nil
}

// multiConsumer runs several consumers with one handler.
type multiConsumer []queue.Consumer

// Run runs every consumer until ctx ends; the first failure stops them all.
func (m multiConsumer) Run(ctx context.Context, h queue.Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, c := range m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx, h); err != nil && ctx.Err() == nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close closes every consumer.
func (m multiConsumer) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
