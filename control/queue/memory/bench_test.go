package memory_test

import (
	"testing"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
)

// BenchmarkThroughput: go test -run '^$' -bench . ./control/queue/memory
func BenchmarkThroughput(b *testing.B) { queuetest.Bench(b, benchFactory(b)) }

// BenchmarkLatency: publish-to-handler p50/p99, one message at a time.
func BenchmarkLatency(b *testing.B) { queuetest.BenchLatency(b, benchFactory(b)) }

func benchFactory(b *testing.B) queuetest.Factory {
	return func(tb testing.TB) queuetest.Harness {
		q := memory.New(memory.DefaultConfig())
		tb.Cleanup(func() { _ = q.Close() })
		return queuetest.Harness{
			Producer: func(testing.TB) queue.Producer { return q },
			Consumer: func(testing.TB) queue.Consumer { return q },
		}
	}
}
