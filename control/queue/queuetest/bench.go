package queuetest

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
)

// BenchPublishers is how many goroutines publish at once in Bench, as
// concurrent HTTP push requests would.
const BenchPublishers = 16

// Bench measures end-to-end throughput: b.N messages over 64 targets
// published by BenchPublishers goroutines while one consumer handles them
// with a handler that only counts. It reports msgs/s (publish to
// acknowledged handling) and the producer-side publish latency.
func Bench(b *testing.B, f Factory) {
	h := f(b)
	p := h.Producer(b)
	c := h.Consumer(b)
	var handled atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, func(context.Context, *queue.Delivery) error {
			if handled.Add(1) == n {
				close(all)
			}
			return nil
		})
	}()
	defer func() { cancel(); <-done }()

	// Warm up connections, group membership and topic metadata, so the
	// timing covers steady state only.
	warm := Msg("warmup", 0)
	if err := p.Publish(ctx, warm); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for handled.Load() < 1 {
		if time.Now().After(deadline) {
			b.Fatal("warm-up message never consumed")
		}
		time.Sleep(time.Millisecond)
	}
	handled.Store(0)
	if n == 0 {
		return
	}

	var next atomic.Int64
	var pubNanos atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range BenchPublishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				m := Msg("live://"+strconv.Itoa(int(i%64)), int(i))
				t0 := time.Now()
				if err := p.Publish(ctx, m); err != nil {
					b.Error(err)
					return
				}
				pubNanos.Add(int64(time.Since(t0)))
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d handled", handled.Load(), n)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(pubNanos.Load())/float64(n)/1e3, "publish-µs/op")
}

// BenchLatency measures one message at a time: publish, then wait until
// the consumer's handler has it. It reports the p50 and p99 of that
// publish-to-handler time on an otherwise idle queue, the floor the queue
// adds to every push.
func BenchLatency(b *testing.B, f Factory) {
	h := f(b)
	p := h.Producer(b)
	c := h.Consumer(b)
	got := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, func(context.Context, *queue.Delivery) error {
			got <- struct{}{}
			return nil
		})
	}()
	defer func() { cancel(); <-done }()
	roundTrip := func(i int) time.Duration {
		t0 := time.Now()
		if err := p.Publish(ctx, Msg("live://lat", i)); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(60 * time.Second):
			b.Fatal("message not consumed within 60 s")
		}
		return time.Since(t0)
	}
	roundTrip(-1) // warm-up: connections, group membership, metadata
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		lat[i] = roundTrip(i)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
