package memory_test

import (
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

func testConfig() memory.Config {
	c := memory.DefaultConfig()
	c.Size = 4096
	c.MaxAttempts = queuetest.MaxAttempts
	c.RetryBackoff = time.Millisecond
	c.MaxRetryBackoff = 5 * time.Millisecond
	c.Workers = 4
	return c
}

func TestSuite(t *testing.T) {
	queuetest.Run(t, func(t testing.TB) queuetest.Harness {
		q := memory.New(testConfig())
		t.Cleanup(func() { _ = q.Close() })
		return queuetest.Harness{
			Kind:     queue.KindMemory,
			Producer: func(testing.TB) queue.Producer { return q },
			Consumer: func(testing.TB) queue.Consumer { return q },
			Dead: func(testing.TB) []*common.PushMsg {
				var out []*common.PushMsg
				for _, d := range q.Dead() {
					out = append(out, d.Msg)
				}
				return out
			},
		}
	})
}
