package redisconn_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/control/logic/history/historytest"
	"github.com/goim-edge/goim-edge/control/logic/history/redisstream"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	"github.com/goim-edge/goim-edge/control/logic/store/storetest"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/redisconn"
)

var fresh atomic.Int64

// TestCluster runs the store, queue and history conformance suites
// against a real six-node Redis Cluster (three masters, three replicas):
// every multi-key operation must stay in one slot (a CROSSSLOT error
// fails the suites).
func TestCluster(t *testing.T) {
	cl := testenv.NewRedisCluster(t)
	conn := redisconn.Config{Addrs: cl.Addrs()[:1]} // one seed: the client discovers the rest
	t.Run("Users", func(t *testing.T) {
		if err := useAll(t, conn, true); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Store", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			cfg := storeConfig(conn)
			cfg.Prefix = fmt.Sprintf("s%d:", fresh.Add(1))
			s, err := redisstore.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
	t.Run("History", func(t *testing.T) {
		historytest.Run(t, func(t *testing.T, clock history.Clock) history.Store {
			cfg := storeConfig(conn)
			cfg.Prefix = fmt.Sprintf("h%d:", fresh.Add(1))
			s, err := redisstream.New(cfg, clock)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("Queue/shards=%d", shards), func(t *testing.T) { clusterQueueSuite(t, conn, shards) })
	}
}

// clusterQueueSuite runs the queue conformance suite with shards streams.
func clusterQueueSuite(t *testing.T, conn redisconn.Config, shards int) {
	rdb, err := redisconn.New(conn, redisconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	queuetest.Run(t, func(t testing.TB) queuetest.Harness {
		cfg := queueConfig(conn, fmt.Sprintf("q%d", fresh.Add(1)))
		cfg.Shards = shards
		cfg.ClaimMinIdle = 300 * time.Millisecond
		cfg.ClaimInterval = 100 * time.Millisecond
		cfg.MaxAttempts = queuetest.MaxAttempts
		cfg.RetryBackoff = time.Millisecond
		cfg.MaxRetryBackoff = 5 * time.Millisecond
		cfg.Workers = 4
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
			Dead: func(t testing.TB) []*common.PushMsg {
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
						m = &common.PushMsg{Id: "undecodable:" + fmt.Sprint(e.Values["id"])}
					}
					out = append(out, m)
				}
				return out
			},
			Timeout: 20 * time.Second,
		}
	})
}

// BenchmarkClusterQueue compares one stream with four shards on a real
// six-node cluster (three masters): go test -run '^$' -bench ClusterQueue
// -benchtime 20000x ./redisconn
func BenchmarkClusterQueue(b *testing.B) {
	cl := testenv.NewRedisCluster(b)
	conn := redisconn.Config{Addrs: cl.Addrs()}
	for _, shards := range []int{1, 4} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			queuetest.Bench(b, func(tb testing.TB) queuetest.Harness {
				cfg := queueConfig(conn, fmt.Sprintf("bench%d", fresh.Add(1)))
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
			})
		})
	}
}
