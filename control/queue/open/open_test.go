package open_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/control/queue/open"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// TestConsumeAllKindsAtOnce: a job configured to consume memory, Redis and
// Kafka gets the messages published to each, labelled with their queue.
func TestConsumeAllKindsAtOnce(t *testing.T) {
	srv := testenv.Redis(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()

	cfg := queue.DefaultConfig()
	cfg.Consume = []string{queue.KindMemory, queue.KindRedis, queue.KindKafka}
	cfg.Redis.Addr = srv.Addr
	cfg.Redis.Block = 100 * time.Millisecond
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.CreateTopics = true
	cfg.Kafka.Partitions = 2
	cfg.Kafka.HeartbeatInterval = 100 * time.Millisecond
	cfg.Kafka.SessionTimeout = 2 * time.Second
	mem := memory.New(cfg.Memory)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, kind := range []string{queue.KindMemory, queue.KindRedis, queue.KindKafka} {
		c := cfg
		c.Kind = kind
		p, err := open.Producer(ctx, c, mem, nil)
		if err != nil {
			t.Fatalf("open producer %s: %v", kind, err)
		}
		if err := p.Publish(ctx, queuetest.Msg("live://"+kind, 0)); err != nil {
			t.Fatalf("publish to %s: %v", kind, err)
		}
		if kind != queue.KindMemory { // closing the shared memory queue would stop its consumer
			defer p.Close()
		}
	}

	cons, err := open.Consumer(cfg, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]string{}
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() {
		done <- cons.Run(runCtx, func(_ context.Context, d *queue.Delivery) error {
			mu.Lock()
			got[d.Queue] = d.Msg.Room
			mu.Unlock()
			return nil
		})
	}()
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("got %v, want one message from each queue", got)
		case <-time.After(10 * time.Millisecond):
		}
	}
	for kind, room := range got {
		if room != "live://"+kind {
			t.Errorf("queue %s delivered %s", kind, room)
		}
	}
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := cons.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	cfg := queue.DefaultConfig()
	cfg.Kind = "nats"
	if _, err := open.Producer(context.Background(), cfg, nil, nil); err == nil {
		t.Fatal("producer for an unknown kind")
	}
	if _, err := open.Consumer(cfg, nil, nil); err == nil {
		t.Fatal("consumer for an unknown kind")
	}
	cfg = queue.DefaultConfig() // memory
	if _, err := open.Producer(context.Background(), cfg, nil, nil); !errors.Is(err, open.ErrNoMemoryQueue) {
		t.Fatalf("memory producer without the shared queue: %v", err)
	}
	if _, err := open.Consumer(cfg, nil, nil); !errors.Is(err, open.ErrNoMemoryQueue) {
		t.Fatalf("memory consumer without the shared queue: %v", err)
	}
}

// TestOpenRedisUnreadableTLSFile: a Redis TLS setting that cannot be
// loaded fails the start, never falling back to plain text.
func TestOpenRedisUnreadableTLSFile(t *testing.T) {
	cfg := queue.DefaultConfig()
	cfg.Kind = queue.KindRedis
	cfg.Redis.TLS.Enabled = true
	cfg.Redis.TLS.CAFile = filepath.Join(t.TempDir(), "missing-ca.pem")
	if _, err := open.Producer(context.Background(), cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("producer: %v, want a ca_file error", err)
	}
	if _, err := open.Consumer(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("consumer: %v, want a ca_file error", err)
	}
}
