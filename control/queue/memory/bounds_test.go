package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
)

func TestPublishBlocksWhileFull(t *testing.T) {
	c := testConfig()
	c.Size = 2
	q := memory.New(c)
	defer q.Close()
	ctx := context.Background()
	for i := range 2 {
		if err := q.Publish(ctx, queuetest.Msg("live://f", i)); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := q.Publish(short, queuetest.Msg("live://f", 2)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish to a full queue = %v, want deadline exceeded", err)
	}
	if q.Len() != 2 {
		t.Fatalf("Len = %d, want 2", q.Len())
	}
	var m dto.Metric
	if err := queue.Lag.WithLabelValues(queue.KindMemory).Write(&m); err != nil || m.GetGauge().GetValue() != 2 {
		t.Fatalf("goim_queue_lag{queue=memory} = %v (%v), want 2", m.GetGauge().GetValue(), err)
	}
}

func TestCloseDrainsThenStops(t *testing.T) {
	q := memory.New(testConfig())
	ctx := context.Background()
	for i := range 10 {
		if err := q.Publish(ctx, queuetest.Msg("live://d", i)); err != nil {
			t.Fatal(err)
		}
	}
	_ = q.Close()
	if err := q.Publish(ctx, queuetest.Msg("live://d", 10)); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("publish after Close = %v, want ErrClosed", err)
	}
	var got int
	if err := q.Run(ctx, func(context.Context, *queue.Delivery) error { got++; return nil }); err != nil {
		t.Fatal(err)
	}
	if got != 10 {
		t.Fatalf("Run after Close delivered %d, want the 10 queued", got)
	}
}

func TestPanickingHandlerIsPoisonNotCrash(t *testing.T) {
	c := testConfig()
	c.DeadSize = 1
	q := memory.New(c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 3 {
		_ = q.Publish(ctx, queuetest.Msg("live://x", i))
	}
	go q.Run(ctx, func(context.Context, *queue.Delivery) error { panic("boom") })
	deadline := time.Now().Add(5 * time.Second)
	for q.DeadCount() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("dead count = %d, want 3", q.DeadCount())
		}
		time.Sleep(time.Millisecond)
	}
	if d := q.Dead(); len(d) != 1 || d[0].Msg.Id != "live://x/2" || d[0].Attempt != queuetest.MaxAttempts {
		t.Fatalf("dead list = %+v, want only the newest after %d attempts", d, queuetest.MaxAttempts)
	}
}
