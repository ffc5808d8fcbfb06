package kafkaq_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/kafkaq"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

var topics atomic.Int64

// newCluster starts an in-process Kafka (kfake) that the real franz-go
// client talks to over loopback.
func newCluster(t testing.TB) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DefaultNumPartitions(4),
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// testConfig is a fresh topic and group with quick rebalances.
func testConfig(c *kfake.Cluster) kafkaq.Config {
	cfg := kafkaq.DefaultConfig()
	n := topics.Add(1)
	cfg.Brokers = c.ListenAddrs()
	cfg.Topic = fmt.Sprintf("test-%d", n)
	cfg.Group = fmt.Sprintf("group-%d", n)
	cfg.Partitions = 4
	cfg.CreateTopics = true
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.SessionTimeout = 2 * time.Second
	cfg.RebalanceTimeout = 5 * time.Second
	cfg.MaxAttempts = queuetest.MaxAttempts
	cfg.RetryBackoff = time.Millisecond
	cfg.MaxRetryBackoff = 5 * time.Millisecond
	cfg.Workers = 4
	return cfg
}

// deadReader collects the dead-letter topic in the background.
type deadReader struct {
	mu   sync.Mutex
	msgs []*common.PushMsg
	hdrs []map[string]string
}

func readDead(t testing.TB, cfg kafkaq.Config) *deadReader {
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(kafkaq.DeadTopic(cfg)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &deadReader{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			f := cl.PollFetches(ctx)
			f.EachRecord(func(rec *kgo.Record) {
				m, err := queue.Decode(rec.Value)
				if err != nil {
					m = &common.PushMsg{Id: "undecodable"}
				}
				h := map[string]string{}
				for _, kv := range rec.Headers {
					h[kv.Key] = string(kv.Value)
				}
				r.mu.Lock()
				r.msgs = append(r.msgs, m)
				r.hdrs = append(r.hdrs, h)
				r.mu.Unlock()
			})
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return r
}

func (r *deadReader) get() []*common.PushMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*common.PushMsg(nil), r.msgs...)
}

func newProducer(t testing.TB, cfg kafkaq.Config) *kafkaq.Producer {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := kafkaq.NewProducer(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestSuite(t *testing.T) {
	cluster := newCluster(t)
	queuetest.Run(t, func(t testing.TB) queuetest.Harness {
		cfg := testConfig(cluster)
		newProducer(t, cfg) // creates the topics before anyone reads
		dead := readDead(t, cfg)
		return queuetest.Harness{
			Kind:     queue.KindKafka,
			Producer: func(t testing.TB) queue.Producer { return newProducer(t, cfg) },
			Consumer: func(t testing.TB) queue.Consumer {
				c := kafkaq.NewConsumer(cfg)
				t.Cleanup(func() { _ = c.Close() })
				return c
			},
			Dead:    func(testing.TB) []*common.PushMsg { return dead.get() },
			Timeout: 30 * time.Second,
		}
	})
}
