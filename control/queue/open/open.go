// Package open builds the queues a Config asks for. It sits apart from
// package queue because the implementations import queue.
package open

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/kafkaq"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
)

// ErrNoMemoryQueue is returned for kind "memory" without the shared queue:
// a memory queue only works inside one process (standalone mode), with
// logic and job given the same *memory.Queue. Anything else would accept
// pushes that nobody ever consumes.
var ErrNoMemoryQueue = errors.New("queue: kind memory needs the process's shared memory queue (standalone mode only)")

// Producer opens the producer logic publishes to (cfg.Kind). mem is the
// process's in-process queue (memory.New(cfg.Memory)), shared with
// Consumer in standalone mode; it may be nil when no memory kind is used.
// log (nil: slog.Default) gets the producer's reports.
func Producer(ctx context.Context, cfg queue.Config, mem *memory.Queue, log *slog.Logger) (queue.Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch cfg.Kind {
	case queue.KindMemory:
		if mem == nil {
			return nil, ErrNoMemoryQueue
		}
		return mem, nil
	case queue.KindRedis:
		if err := redisq.Check(cfg.Redis); err != nil {
			return nil, err
		}
		return redisq.NewProducer(cfg.Redis), nil
	case queue.KindKafka:
		return kafkaq.NewProducer(ctx, cfg.Kafka, log)
	}
	return nil, fmt.Errorf("queue: unknown kind %q", cfg.Kind)
}

// Consumer opens the consumer job runs: every kind in cfg.ConsumeKinds(),
// combined with queue.Multi when there are several. mem is as for
// Producer; log (nil: slog.Default) gets the consumers' reports.
func Consumer(cfg queue.Config, mem *memory.Queue, log *slog.Logger) (queue.Consumer, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var cs []queue.Consumer
	for _, k := range cfg.ConsumeKinds() {
		switch k {
		case queue.KindMemory:
			if mem == nil {
				return nil, ErrNoMemoryQueue
			}
			cs = append(cs, mem)
		case queue.KindRedis:
			if err := redisq.Check(cfg.Redis); err != nil {
				return nil, err
			}
			cs = append(cs, redisq.NewConsumer(cfg.Redis).WithLogger(log))
		case queue.KindKafka:
			cs = append(cs, kafkaq.NewConsumer(cfg.Kafka).WithLogger(log))
		}
	}
	return queue.Multi(cs...), nil
}
