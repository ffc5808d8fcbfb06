// Package queuetest is the behaviour every queue implementation must show,
// as one test suite: memory, redisq and kafkaq each run it against a real
// backend (in-process, redis-server, kfake with the real franz-go client).
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// MaxAttempts is the DeliveryConfig.MaxAttempts factories must configure;
// factories must also keep RetryBackoff at a few milliseconds.
const MaxAttempts = 3

// Harness is one fresh queue (stream, topic, group) under test.
type Harness struct {
	// Kind is the queue kind, the metrics label.
	Kind string
	// Producer returns a producer of the queue.
	Producer func(t testing.TB) queue.Producer
	// Consumer returns a new member of the queue's one consumer group,
	// distinct from earlier ones (a new consumer name, a new group member).
	Consumer func(t testing.TB) queue.Consumer
	// Dead returns the messages moved aside as poison so far, oldest first.
	Dead func(t testing.TB) []*common.PushMsg
	// Timeout bounds waits for deliveries (default 20 s); it must cover
	// the queue's takeover delay (Redis ClaimMinIdle, Kafka rebalance).
	Timeout time.Duration
}

// Factory makes a fresh Harness for each test of the suite.
type Factory func(t testing.TB) Harness

// Run runs the whole suite.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"OrderPerTarget", testOrderPerTarget},
		{"AckedNotRedelivered", testAckedNotRedelivered},
		{"FailedRedelivered", testFailedRedelivered},
		{"ConsumerDiesNothingLost", testConsumerDies},
		{"PoisonMovedAside", testPoison},
		{"ConcurrentProducers", testConcurrentProducers},
		{"TwoConsumersOfAGroupGetEverything", testTwoConsumers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := f(t)
			if h.Timeout == 0 {
				h.Timeout = 20 * time.Second
			}
			tc.fn(t, h)
		})
	}
}

// Msg builds test message seq for target; ID is "target/seq".
func Msg(target string, seq int) *common.PushMsg {
	return &common.PushMsg{
		Id: target + "/" + strconv.Itoa(seq), Kind: common.PushKind_ROOM, Op: 1000,
		Room: target, Body: []byte(strconv.Itoa(seq)), EnqueuedUnixNano: time.Now().UnixNano(),
	}
}

// testOrderPerTarget: one consumer sees each target's messages in publish
// order, each exactly once, while targets interleave.
func testOrderPerTarget(t *testing.T, h Harness) {
	const targets, per = 8, 50
	published0 := counter(queue.PublishedTotal.WithLabelValues(h.Kind))
	consumed0 := counter(queue.ConsumedTotal.WithLabelValues(h.Kind))
	p := h.Producer(t)
	var msgs []*common.PushMsg
	for i := range per {
		for k := range targets {
			msgs = append(msgs, Msg("live://"+strconv.Itoa(k), i))
		}
	}
	publish(t, p, msgs...)
	r := &Recorder{}
	Start(t, h.Consumer(t), r.Handle)
	WaitFor(t, h.Timeout, "all messages", func() bool { return r.Distinct() == len(msgs) })
	if d := counter(queue.PublishedTotal.WithLabelValues(h.Kind)) - published0; d < float64(len(msgs)) {
		t.Errorf("goim_queue_published_total{queue=%q} rose by %v, want %d", h.Kind, d, len(msgs))
	}
	WaitFor(t, h.Timeout, "consumed counter", func() bool {
		return counter(queue.ConsumedTotal.WithLabelValues(h.Kind))-consumed0 >= float64(len(msgs))
	})
	next := map[string]int{}
	for _, d := range r.All() {
		seq, _ := strconv.Atoi(string(d.Msg.Body))
		if seq != next[d.Msg.Room] {
			t.Fatalf("target %s: got seq %d, want %d", d.Msg.Room, seq, next[d.Msg.Room])
		}
		next[d.Msg.Room]++
	}
}

// testAckedNotRedelivered: messages acknowledged by a consumer that then
// stops are not delivered to the next consumer.
func testAckedNotRedelivered(t *testing.T, h Harness) {
	p := h.Producer(t)
	for i := range 20 {
		publish(t, p, Msg("live://a", i))
	}
	r1 := &Recorder{}
	stop := Start(t, h.Consumer(t), r1.Handle)
	WaitFor(t, h.Timeout, "first batch", func() bool { return r1.Distinct() == 20 })
	stop()

	r2 := &Recorder{}
	Start(t, h.Consumer(t), r2.Handle)
	publish(t, p, Msg("live://a", 20))
	WaitFor(t, h.Timeout, "marker", func() bool { return r2.Times("live://a/20") == 1 })
	time.Sleep(100 * time.Millisecond)
	for _, d := range r2.All() {
		if d.Msg.Id != "live://a/20" {
			t.Fatalf("acked message %s delivered again (attempt %d)", d.Msg.Id, d.Attempt)
		}
	}
}

// testFailedRedelivered: a message whose handler fails is delivered again
// with a growing Attempt, then acknowledged; the messages after it still
// arrive, in order.
func testFailedRedelivered(t *testing.T, h Harness) {
	p := h.Producer(t)
	publish(t, p, Msg("live://r", 0), Msg("live://r", 1), Msg("live://r", 2))
	r := &Recorder{}
	var mu sync.Mutex
	var attempts []int
	Start(t, h.Consumer(t), func(ctx context.Context, d *queue.Delivery) error {
		if d.Msg.Id == "live://r/1" {
			mu.Lock()
			attempts = append(attempts, d.Attempt)
			n := len(attempts)
			mu.Unlock()
			if n < MaxAttempts {
				return errors.New("edge unavailable")
			}
		}
		r.Add(d)
		return nil
	})
	WaitFor(t, h.Timeout, "all three", func() bool { return r.Distinct() == 3 })
	mu.Lock()
	defer mu.Unlock()
	want := []int{}
	for i := 1; i <= MaxAttempts; i++ {
		want = append(want, i)
	}
	if fmt.Sprint(attempts) != fmt.Sprint(want) {
		t.Fatalf("attempts of the failing message = %v, want %v", attempts, want)
	}
	var order []string
	for _, d := range r.All() {
		order = append(order, d.Msg.Id)
	}
	if fmt.Sprint(order) != "[live://r/0 live://r/1 live://r/2]" {
		t.Fatalf("order = %v", order)
	}
	if len(h.Dead(t)) != 0 {
		t.Fatalf("a message that finally succeeded went to the dead letters")
	}
}

// testConsumerDies: consumer A takes messages and stops without
// acknowledging them (its handler is stuck when it dies); consumer B gets
// every message, none lost.
func testConsumerDies(t *testing.T, h Harness) {
	const n = 40
	p := h.Producer(t)
	for i := range n {
		publish(t, p, Msg("live://"+strconv.Itoa(i%4), i/4))
	}
	took := make(chan struct{}, n)
	a := h.Consumer(t)
	stopA := Start(t, a, func(ctx context.Context, d *queue.Delivery) error {
		took <- struct{}{}
		<-ctx.Done() // stuck until the consumer dies: never acknowledged
		return ctx.Err()
	})
	select {
	case <-took:
	case <-time.After(h.Timeout):
		t.Fatal("consumer A never got a message")
	}
	stopA()
	_ = a.Close()

	r := &Recorder{}
	Start(t, h.Consumer(t), r.Handle)
	WaitFor(t, h.Timeout, "every message at consumer B", func() bool { return r.Distinct() == n })
	for _, d := range h.Dead(t) {
		t.Errorf("message %s went to the dead letters", d.Id)
	}
}

// testPoison: a message the handler calls poison, and one that fails every
// attempt, are moved aside, counted, and the messages after them on the
// same target still arrive.
func testPoison(t *testing.T, h Harness) {
	before := counter(queue.PoisonTotal.WithLabelValues(h.Kind))
	p := h.Producer(t)
	publish(t, p, Msg("live://p", 0), Msg("live://p", 1), Msg("live://p", 2), Msg("live://p", 3))
	r := &Recorder{}
	var mu sync.Mutex
	tries := map[string]int{}
	Start(t, h.Consumer(t), func(ctx context.Context, d *queue.Delivery) error {
		mu.Lock()
		tries[d.Msg.Id]++
		mu.Unlock()
		switch d.Msg.Id {
		case "live://p/0":
			return fmt.Errorf("bad room: %w", queue.ErrPoison)
		case "live://p/2":
			return errors.New("always fails")
		}
		r.Add(d)
		return nil
	})
	WaitFor(t, h.Timeout, "the healthy messages", func() bool { return r.Distinct() == 2 })
	var dead []string
	WaitFor(t, h.Timeout, "two dead letters", func() bool {
		dead = dead[:0]
		for _, m := range h.Dead(t) {
			dead = append(dead, m.Id)
		}
		return len(dead) >= 2
	})
	sort.Strings(dead)
	if fmt.Sprint(dead) != "[live://p/0 live://p/2]" {
		t.Fatalf("dead letters = %v", dead)
	}
	mu.Lock()
	if tries["live://p/0"] != 1 || tries["live://p/2"] != MaxAttempts {
		t.Errorf("tries = %v, want p/0 once and p/2 %d times", tries, MaxAttempts)
	}
	mu.Unlock()
	if got := counter(queue.PoisonTotal.WithLabelValues(h.Kind)) - before; got != 2 {
		t.Fatalf("poison counter rose by %v, want 2", got)
	}
	if r.Times("live://p/1") != 1 || r.Times("live://p/3") != 1 {
		t.Fatalf("healthy messages delivered %d and %d times", r.Times("live://p/1"), r.Times("live://p/3"))
	}
}

// testConcurrentProducers: many goroutines publish at once (run with -race);
// everything arrives exactly once, in order per producer.
func testConcurrentProducers(t *testing.T, h Harness) {
	const producers, per = 8, 100
	r := &Recorder{}
	Start(t, h.Consumer(t), r.Handle)
	var wg sync.WaitGroup
	for g := range producers {
		p := h.Producer(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
			defer cancel()
			for i := range per {
				if err := p.Publish(ctx, Msg("live://c"+strconv.Itoa(g), i)); err != nil {
					t.Errorf("producer %d publish %d: %v", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	WaitFor(t, h.Timeout, "every message", func() bool { return r.Distinct() == producers*per })
	next := map[string]int{}
	for _, d := range r.All() {
		if n := r.Times(d.Msg.Id); n != 1 {
			t.Fatalf("%s delivered %d times", d.Msg.Id, n)
		}
		seq, _ := strconv.Atoi(string(d.Msg.Body))
		if seq != next[d.Msg.Room] {
			t.Fatalf("target %s: got seq %d, want %d", d.Msg.Room, seq, next[d.Msg.Room])
		}
		next[d.Msg.Room]++
	}
}

// testTwoConsumers: two consumers of one group together get every
// message. How the load is shared between them is the backend's (and the
// scheduler's) business — one may take everything on a fast machine — so
// only the sum is checked; the distribution shows in the bench.
func testTwoConsumers(t *testing.T, h Harness) {
	const n = 200
	r := &Recorder{}
	Start(t, h.Consumer(t), r.Handle)
	Start(t, h.Consumer(t), r.Handle)
	p := h.Producer(t)
	for i := range n {
		publish(t, p, Msg("live://s"+strconv.Itoa(i%16), i/16))
	}
	WaitFor(t, h.Timeout, "every message", func() bool { return r.Distinct() == n })
}

// counter reads a counter's value (prometheus/testutil would pull in a
// module this build does not carry).
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func publish(t *testing.T, p queue.Producer, msgs ...*common.PushMsg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, m := range msgs {
		if err := p.Publish(ctx, m); err != nil {
			t.Fatalf("publish %s: %v", m.Id, err)
		}
	}
}
