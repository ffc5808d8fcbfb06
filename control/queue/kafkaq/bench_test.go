package kafkaq_test

import (
	"testing"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/kafkaq"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
)

// BenchmarkThroughput: go test -run '^$' -bench . ./control/queue/kafkaq
// (kfake in process with the real franz-go client: it measures the
// client and this package, not a real broker's disk).
func BenchmarkThroughput(b *testing.B) { queuetest.Bench(b, benchFactory(b)) }

// BenchmarkLatency: publish-to-handler p50/p99, one message at a time.
func BenchmarkLatency(b *testing.B) { queuetest.BenchLatency(b, benchFactory(b)) }

func benchFactory(b *testing.B) queuetest.Factory {
	cluster := newCluster(b)
	return func(tb testing.TB) queuetest.Harness {
		cfg := testConfig(cluster)
		def := kafkaq.DefaultConfig()
		cfg.Workers, cfg.Batch = def.Workers, def.Batch
		newProducer(tb, cfg)
		return queuetest.Harness{
			Producer: func(tb testing.TB) queue.Producer { return newProducer(tb, cfg) },
			Consumer: func(tb testing.TB) queue.Consumer {
				c := kafkaq.NewConsumer(cfg)
				tb.Cleanup(func() { _ = c.Close() })
				return c
			},
		}
	}
}
