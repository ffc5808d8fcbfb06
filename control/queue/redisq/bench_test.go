package redisq_test

import (
	"testing"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// BenchmarkThroughput: go test -run '^$' -bench . ./control/queue/redisq
// (a real redis-server on loopback, default workers and batch).
func BenchmarkThroughput(b *testing.B) { queuetest.Bench(b, benchFactory(b)) }

// BenchmarkLatency: publish-to-handler p50/p99, one message at a time.
func BenchmarkLatency(b *testing.B) { queuetest.BenchLatency(b, benchFactory(b)) }

func benchFactory(b *testing.B) queuetest.Factory {
	srv := testenv.Redis(b)
	return func(tb testing.TB) queuetest.Harness {
		cfg := testConfig(srv.Addr)
		def := redisq.DefaultConfig()
		cfg.Workers, cfg.Batch = def.Workers, def.Batch
		return queuetest.Harness{
			Producer: func(tb testing.TB) queue.Producer {
				p := redisq.NewProducer(cfg)
				tb.Cleanup(func() { _ = p.Close() })
				return p
			},
			Consumer: func(tb testing.TB) queue.Consumer {
				c := redisq.NewConsumer(cfg)
				tb.Cleanup(func() { _ = c.Close() })
				return c
			},
		}
	}
}
