package redisq_test

import (
	"fmt"
	"testing"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// BenchmarkThroughput: go test -run '^$' -bench . ./control/queue/redisq
// (a real redis-server on loopback, default workers and batch), on one
// stream and on four shards. BenchmarkClusterQueue in redisconn compares
// the same on a Redis Cluster.
func BenchmarkThroughput(b *testing.B) {
	srv := testenv.Redis(b)
	for _, shards := range []int{1, 4} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) { queuetest.Bench(b, benchFactory(srv.Addr, shards)) })
	}
}

// BenchmarkLatency: publish-to-handler p50/p99, one message at a time.
func BenchmarkLatency(b *testing.B) {
	queuetest.BenchLatency(b, benchFactory(testenv.Redis(b).Addr, 1))
}

func benchFactory(addr string, shards int) queuetest.Factory {
	return func(tb testing.TB) queuetest.Harness {
		cfg := testConfig(addr)
		def := redisq.DefaultConfig()
		cfg.Workers, cfg.Batch = def.Workers, def.Batch
		cfg.Shards = shards
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
