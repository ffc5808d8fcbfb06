package queue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/redisconn"
)

func TestMultiDeliversFromEveryQueue(t *testing.T) {
	a, b := memory.New(memory.DefaultConfig()), memory.New(memory.DefaultConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = a.Publish(ctx, queuetest.Msg("live://a", 0))
	_ = b.Publish(ctx, queuetest.Msg("live://b", 0))
	m := queue.Multi(a, b)
	var mu sync.Mutex
	got := map[string]bool{}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- m.Run(runCtx, func(_ context.Context, d *queue.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			got[d.Msg.Room] = true
			if len(got) == 2 {
				stop()
			}
			return nil
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !got["live://a"] || !got["live://b"] {
		t.Fatalf("got %v", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, queuetest.Msg("live://a", 1)); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("Close did not close every queue: %v", err)
	}
}

// TestMultiStopsAllWhenOneFails: a consumer that cannot run stops the
// others and its error is returned.
func TestMultiStopsAllWhenOneFails(t *testing.T) {
	mem := memory.New(memory.DefaultConfig())
	broken := redisq.NewConsumer(redisq.Config{Config: redisconn.Config{Addr: "127.0.0.1:1"}})
	_ = broken.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := queue.Multi(mem, broken).Run(ctx, func(context.Context, *queue.Delivery) error { return nil })
	if !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("Run = %v, want the closed consumer's ErrClosed", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Multi waited for the context instead of stopping")
	}
}
