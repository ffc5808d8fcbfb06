package redisq_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

var streams atomic.Int64

// testConfig is a fresh stream on addr with quick takeover.
func testConfig(addr string) redisq.Config {
	c := redisq.DefaultConfig()
	c.Addr = addr
	c.Stream = fmt.Sprintf("test-%d", streams.Add(1))
	c.Block = 100 * time.Millisecond
	c.ClaimMinIdle = 300 * time.Millisecond
	c.ClaimInterval = 100 * time.Millisecond
	c.MaxAttempts = queuetest.MaxAttempts
	c.RetryBackoff = time.Millisecond
	c.MaxRetryBackoff = 5 * time.Millisecond
	c.Workers = 4
	return c
}

// deadLetters reads the dead-letter streams of every shard of cfg.
func deadLetters(t testing.TB, rdb redis.Cmdable, cfg redisq.Config) []*common.PushMsg {
	t.Helper()
	var entries []redis.XMessage
	for _, dead := range redisq.DeadStreams(cfg) {
		e, err := rdb.XRange(context.Background(), dead, "-", "+").Result()
		if err != nil {
			t.Fatalf("xrange dead letters %s: %v", dead, err)
		}
		entries = append(entries, e...)
	}
	var out []*common.PushMsg
	for _, e := range entries {
		raw, _ := e.Values["d"].(string)
		m, err := queue.Decode([]byte(raw))
		if err != nil {
			m = &common.PushMsg{Id: "undecodable:" + e.Values["id"].(string)}
		}
		out = append(out, m)
	}
	return out
}

// TestSuite runs the conformance suite on one stream and on four shards.
func TestSuite(t *testing.T) {
	srv := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			queuetest.Run(t, suiteFactory(srv.Addr, rdb, shards))
		})
	}
}

func suiteFactory(addr string, rdb redis.Cmdable, shards int) queuetest.Factory {
	return func(t testing.TB) queuetest.Harness {
		cfg := testConfig(addr)
		cfg.Shards = shards
		var consumers atomic.Int64
		return queuetest.Harness{
			Kind: queue.KindRedis,
			Producer: func(t testing.TB) queue.Producer {
				p := redisq.NewProducer(cfg)
				t.Cleanup(func() { _ = p.Close() })
				return p
			},
			Consumer: func(t testing.TB) queue.Consumer {
				c := cfg
				c.Consumer = fmt.Sprintf("job-%d", consumers.Add(1))
				cons := redisq.NewConsumer(c)
				t.Cleanup(func() { _ = cons.Close() })
				return cons
			},
			Dead:    func(t testing.TB) []*common.PushMsg { return deadLetters(t, rdb, cfg) },
			Timeout: 20 * time.Second,
		}
	}
}
