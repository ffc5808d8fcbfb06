package redisq_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

func publishN(t *testing.T, p queue.Producer, target string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := p.Publish(context.Background(), queuetest.Msg(target+strconv.Itoa(i%8), i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKillConsumerNothingLost: two jobs share the stream; one is killed
// mid-stream (its connection cut, its handlers stuck, nothing acked after
// that); the survivor takes over its pending messages and every message is
// handled.
func TestKillConsumerNothingLost(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := testConfig(srv.Addr)
	const n = 1000
	p := redisq.NewProducer(cfg)
	defer p.Close()

	var handled queuetest.Recorder
	var killed atomic.Bool
	aCfg := cfg
	aCfg.Consumer = "job-a"
	aClient, err := redisq.NewClient(aCfg)
	if err != nil {
		t.Fatal(err)
	}
	a := redisq.NewConsumerWithClient(aClient, aCfg)
	var aCount atomic.Int64
	stopA := queuetest.Start(t, a, func(ctx context.Context, d *queue.Delivery) error {
		if killed.Load() {
			<-ctx.Done() // a dead process acks nothing more
			return ctx.Err()
		}
		handled.Add(d)
		aCount.Add(1)
		time.Sleep(100 * time.Microsecond)
		return nil
	})
	bCfg := cfg
	bCfg.Consumer = "job-b"
	b := redisq.NewConsumer(bCfg)
	defer b.Close()
	var bCount atomic.Int64
	queuetest.Start(t, b, func(ctx context.Context, d *queue.Delivery) error {
		handled.Add(d)
		bCount.Add(1)
		time.Sleep(100 * time.Microsecond)
		return nil
	})

	publishN(t, p, "live://k", 0, n/2)
	queuetest.WaitFor(t, 20*time.Second, "job-a to handle some", func() bool { return aCount.Load() >= 50 })
	killed.Store(true)
	_ = aClient.Close() // the crash: acks in flight fail, nothing more is read
	publishN(t, p, "live://k", n/2, n)
	queuetest.WaitFor(t, 30*time.Second, "every message handled", func() bool { return handled.Distinct() == n })
	stopA()

	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	queuetest.WaitFor(t, 10*time.Second, "empty pending list", func() bool {
		pend, err := rdb.XPending(context.Background(), cfg.Stream, cfg.Group).Result()
		return err == nil && pend.Count == 0
	})
	t.Logf("job-a handled %d before dying, job-b %d (duplicates are allowed: at least once)", aCount.Load(), bCount.Load())
}

// TestRestartResumesOwnPending: a job restarted under the same consumer
// name picks up its own pending messages at once, without waiting for
// ClaimMinIdle, sees them as a second attempt, and handles each once even
// when its claim cycle finds the same messages idle.
func TestRestartResumesOwnPending(t *testing.T) {
	for _, idle := range []time.Duration{time.Hour, 10 * time.Millisecond} {
		t.Run(idle.String(), func(t *testing.T) {
			srv := testenv.Redis(t)
			cfg := testConfig(srv.Addr)
			cfg.ClaimMinIdle = idle
			cfg.Consumer = "job-x"
			p := redisq.NewProducer(cfg)
			defer p.Close()
			publishN(t, p, "live://r", 0, 5)

			first := redisq.NewConsumer(cfg)
			took := make(chan struct{}, 5)
			stop := queuetest.Start(t, first, func(ctx context.Context, d *queue.Delivery) error {
				took <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			})
			<-took
			stop()
			_ = first.Close()
			time.Sleep(50 * time.Millisecond)

			again := redisq.NewConsumer(cfg)
			defer again.Close()
			var mu sync.Mutex
			attempts := map[string][]int{}
			queuetest.Start(t, again, func(ctx context.Context, d *queue.Delivery) error {
				mu.Lock()
				attempts[d.Msg.Id] = append(attempts[d.Msg.Id], d.Attempt)
				mu.Unlock()
				return nil
			})
			queuetest.WaitFor(t, 10*time.Second, "all five after restart", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(attempts) == 5
			})
			// Deliberate: claim cycles run meanwhile, and none may hand a
			// message out again.
			time.Sleep(200 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			for id, a := range attempts {
				if len(a) != 1 || a[0] != 2 {
					t.Errorf("%s: attempts %v, want one delivery as attempt 2", id, a)
				}
			}
		})
	}
}

// TestDeliveredTooOftenIsPoison: a message that keeps killing its consumers
// (delivered MaxAttempts times without an ack) is moved aside without
// being handed to the handler again.
func TestDeliveredTooOftenIsPoison(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := testConfig(srv.Addr)
	cfg.ClaimMinIdle = time.Hour
	cfg.Consumer = "job-x"
	p := redisq.NewProducer(cfg)
	defer p.Close()
	publishN(t, p, "live://z", 0, 1)
	for range queuetest.MaxAttempts {
		c := redisq.NewConsumer(cfg)
		took := make(chan struct{}, 1)
		stop := queuetest.Start(t, c, func(ctx context.Context, d *queue.Delivery) error {
			took <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		})
		<-took
		stop()
		_ = c.Close()
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	c := redisq.NewConsumer(cfg)
	defer c.Close()
	var called atomic.Bool
	queuetest.Start(t, c, func(context.Context, *queue.Delivery) error { called.Store(true); return nil })
	queuetest.WaitFor(t, 10*time.Second, "dead letter", func() bool { return len(deadLetters(t, rdb, cfg)) == 1 })
	if called.Load() {
		t.Fatal("handler called for a message delivered MaxAttempts times already")
	}
}

// TestUndecodableMovedAside: garbage in the stream goes to the dead-letter
// stream (with its id and the reason) and the messages behind it flow.
func TestUndecodableMovedAside(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := testConfig(srv.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	badID, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: cfg.Stream, Values: []any{"d", "\xff\x00garbage"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: cfg.Stream, Values: []any{"unexpected", "field"}}).Err(); err != nil {
		t.Fatal(err)
	}
	p := redisq.NewProducer(cfg)
	defer p.Close()
	publishN(t, p, "live://u", 0, 3)
	c := redisq.NewConsumer(cfg)
	defer c.Close()
	var got queuetest.Recorder
	queuetest.Start(t, c, func(_ context.Context, d *queue.Delivery) error { got.Add(d); return nil })
	queuetest.WaitFor(t, 10*time.Second, "the good messages", func() bool { return got.Distinct() == 3 })
	var dead []redis.XMessage
	queuetest.WaitFor(t, 10*time.Second, "two dead letters", func() bool {
		dead, err = rdb.XRange(ctx, redisq.DeadStream(cfg), "-", "+").Result()
		return err == nil && len(dead) == 2
	})
	if dead[0].Values["id"] != badID || dead[0].Values["err"] == "" {
		t.Fatalf("dead letter = %v, want id %s and a reason", dead[0].Values, badID)
	}
	queuetest.WaitFor(t, 10*time.Second, "nothing pending", func() bool {
		pend, err := rdb.XPending(ctx, cfg.Stream, cfg.Group).Result()
		return err == nil && pend.Count == 0
	})
}

// TestRedisOutageRecovers: Redis goes away under a running consumer and
// producer; publishing fails with an error, the consumer keeps retrying,
// and both work again once Redis is back (an empty Redis: the group is
// recreated).
func TestRedisOutageRecovers(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := testConfig(srv.Addr)
	cfg.Timeout = 500 * time.Millisecond
	cfg.DialTimeout = 500 * time.Millisecond
	p := redisq.NewProducer(cfg)
	defer p.Close()
	c := redisq.NewConsumer(cfg)
	defer c.Close()
	var got queuetest.Recorder
	queuetest.Start(t, c, func(_ context.Context, d *queue.Delivery) error { got.Add(d); return nil })
	publishN(t, p, "live://o", 0, 10)
	queuetest.WaitFor(t, 10*time.Second, "before the outage", func() bool { return got.Distinct() == 10 })

	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err := p.Publish(ctx, queuetest.Msg("live://o", 99))
	cancel()
	if err == nil {
		t.Fatal("publish with Redis down succeeded")
	}
	time.Sleep(500 * time.Millisecond) // the consumer fails and backs off meanwhile
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	queuetest.WaitFor(t, 15*time.Second, "publish after the outage", func() bool {
		return p.Publish(context.Background(), queuetest.Msg("live://o", 10)) == nil
	})
	queuetest.WaitFor(t, 20*time.Second, "delivery after the outage", func() bool { return got.Times("live://o/10") > 0 })
}

// TestMaxLenTrims: XADD trims the stream approximately to MaxLen.
func TestMaxLenTrims(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := testConfig(srv.Addr)
	cfg.MaxLen = 100
	p := redisq.NewProducer(cfg)
	defer p.Close()
	publishN(t, p, "live://m", 0, 2000)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	n, err := rdb.XLen(context.Background(), cfg.Stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 || n > 300 {
		t.Fatalf("stream length %d after 2000 publishes with max_len 100", n)
	}
}

// TestGoneConsumersForgotten: a member that holds nothing and stopped
// polling long ago is removed from the group. (One that still holds
// messages has them claimed by a live consumer first — ClaimMinIdle is
// far below ForgetAfter — and is then forgotten the same way; that
// order is the claim loop's, not tested here.)
func TestGoneConsumersForgotten(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := testConfig(srv.Addr)
	cfg.ClaimMinIdle = 10 * time.Millisecond
	cfg.Block = 10 * time.Millisecond
	cfg.ForgetAfter = 200 * time.Millisecond
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.XGroupCreateMkStream(ctx, cfg.Stream, cfg.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XGroupCreateConsumer(ctx, cfg.Stream, cfg.Group, "gone").Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cfg.Consumer = "alive"
	c := redisq.NewConsumer(cfg)
	defer c.Close()
	queuetest.Start(t, c, func(context.Context, *queue.Delivery) error { return nil })
	queuetest.WaitFor(t, 10*time.Second, "the gone consumer removed", func() bool {
		members, err := rdb.XInfoConsumers(ctx, cfg.Stream, cfg.Group).Result()
		if err != nil {
			return false
		}
		for _, m := range members {
			if m.Name == "gone" {
				return false
			}
		}
		return len(members) == 1
	})
}

// TestStopWhileRedisDown: a consumer stops promptly even when Redis is
// gone and its acks cannot be sent.
func TestStopWhileRedisDown(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := testConfig(srv.Addr)
	cfg.Timeout = 300 * time.Millisecond
	cfg.DialTimeout = 300 * time.Millisecond
	p := redisq.NewProducer(cfg)
	defer p.Close()
	publishN(t, p, "live://d", 0, 50)
	c := redisq.NewConsumer(cfg)
	defer c.Close()
	var got queuetest.Recorder
	stop := queuetest.Start(t, c, func(ctx context.Context, d *queue.Delivery) error {
		got.Add(d)
		return nil
	})
	queuetest.WaitFor(t, 10*time.Second, "some handled", func() bool { return got.Distinct() > 0 })
	srv.Kill()
	time.Sleep(200 * time.Millisecond)
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of cancel with Redis down")
	}
}
