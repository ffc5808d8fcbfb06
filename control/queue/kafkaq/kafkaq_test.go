package kafkaq_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/kafkaq"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func start(t *testing.T, c queue.Consumer, h queue.Handler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(ctx, h); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// handledLog records, per target, the sequence numbers in handling order.
type handledLog struct {
	mu  sync.Mutex
	seq map[string][]int
	ids map[string]bool
}

func (l *handledLog) add(d *queue.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seq == nil {
		l.seq, l.ids = map[string][]int{}, map[string]bool{}
	}
	n, _ := strconv.Atoi(string(d.Msg.Body))
	l.seq[d.Msg.Room] = append(l.seq[d.Msg.Room], n)
	l.ids[d.Msg.Id] = true
}

func (l *handledLog) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids)
}

// checkOrder fails unless every target's messages were first handled in
// publish order. A redelivery after a rebalance repeats an earlier range,
// which at-least-once allows; it must not skip ahead.
func (l *handledLog) checkOrder(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for target, seqs := range l.seq {
		next := 0
		for _, s := range seqs {
			if s > next {
				t.Fatalf("target %s: handled %d before %d (%v)", target, s, next, seqs)
			}
			if s == next {
				next++
			}
		}
	}
}

func publishTargets(t *testing.T, p queue.Producer, targets, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		for k := range targets {
			if err := p.Publish(context.Background(), queuetest.Msg("live://"+strconv.Itoa(k), i)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestHungConsumerRebalancedNothingLost: two jobs share the topic; one
// hangs mid-batch (handlers stuck, no commit, no heartbeat progress in the
// rebalance). The group drops it after RebalanceTimeout and the other job
// gets every record, each target still in order.
func TestHungConsumerRebalancedNothingLost(t *testing.T) {
	cluster := newCluster(t)
	cfg := testConfig(cluster)
	cfg.RebalanceTimeout = 2 * time.Second
	p := newProducer(t, cfg)
	var log handledLog
	var hung atomic.Bool
	var aCount atomic.Int64
	a := kafkaq.NewConsumer(cfg)
	release := make(chan struct{})
	start(t, a, func(ctx context.Context, d *queue.Delivery) error {
		if hung.Load() {
			select { // stuck until the test ends
			case <-release:
			case <-ctx.Done():
			}
			return context.Canceled
		}
		log.add(d)
		aCount.Add(1)
		return nil
	})
	t.Cleanup(func() { close(release) })
	publishTargets(t, p, 8, 0, 20)
	waitFor(t, 20*time.Second, "job-a to handle some", func() bool { return aCount.Load() >= 40 })
	hung.Store(true)
	publishTargets(t, p, 8, 20, 50)

	b := kafkaq.NewConsumer(cfg)
	start(t, b, func(ctx context.Context, d *queue.Delivery) error { log.add(d); return nil })
	waitFor(t, 30*time.Second, "every record at job-b", func() bool { return log.distinct() == 8*50 })
	log.checkOrder(t)
}

// TestOrderAcrossJobs: three jobs join and leave while records flow; every
// target's records are still handled in order.
func TestOrderAcrossJobs(t *testing.T) {
	cluster := newCluster(t)
	cfg := testConfig(cluster)
	p := newProducer(t, cfg)
	var log handledLog
	h := func(ctx context.Context, d *queue.Delivery) error { log.add(d); return nil }
	stop1 := start(t, kafkaq.NewConsumer(cfg), h)
	publishTargets(t, p, 16, 0, 30)
	start(t, kafkaq.NewConsumer(cfg), h)
	publishTargets(t, p, 16, 30, 60)
	stop1()
	start(t, kafkaq.NewConsumer(cfg), h)
	publishTargets(t, p, 16, 60, 100)
	waitFor(t, 30*time.Second, "every record", func() bool { return log.distinct() == 16*100 })
	log.checkOrder(t)
}

// TestUndecodableToDeadTopic: a record that does not decode goes to the
// dead-letter topic with its source and reason, and the records after it
// on the same partition are handled and committed.
func TestUndecodableToDeadTopic(t *testing.T) {
	cluster := newCluster(t)
	cfg := testConfig(cluster)
	p := newProducer(t, cfg)
	dead := readDead(t, cfg)
	raw, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.DefaultProduceTopic(cfg.Topic))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	key := []byte(queue.TargetKey(queuetest.Msg("live://0", 0)))
	if err := raw.ProduceSync(context.Background(), &kgo.Record{Key: key, Value: []byte("\xffnot thrift")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	publishTargets(t, p, 1, 0, 5)
	var log handledLog
	stop := start(t, kafkaq.NewConsumer(cfg), func(_ context.Context, d *queue.Delivery) error { log.add(d); return nil })
	waitFor(t, 20*time.Second, "the good records", func() bool { return log.distinct() == 5 })
	waitFor(t, 20*time.Second, "the dead letter", func() bool { return len(dead.get()) == 1 })
	dead.mu.Lock()
	h := dead.hdrs[0]
	dead.mu.Unlock()
	if h["goim-source"] == "" || h["goim-error"] == "" || h["goim-attempts"] != "1" {
		t.Fatalf("dead letter headers = %v", h)
	}
	stop()

	// Everything was committed: a new member of the group gets nothing old.
	var again handledLog
	start(t, kafkaq.NewConsumer(cfg), func(_ context.Context, d *queue.Delivery) error { again.add(d); return nil })
	publishTargets(t, p, 1, 5, 6)
	waitFor(t, 20*time.Second, "the new record", func() bool { return again.distinct() == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := again.distinct(); n != 1 {
		t.Fatalf("a new member got %d records, want only the new one", n)
	}
}

// TestBrokerOutageRecovers: the cluster goes away under a running producer
// and consumer and comes back (with its data, as a real Kafka restart
// does) on the same address; publishing fails meanwhile, nothing crashes,
// and both work again afterwards without a restart of either.
func TestBrokerOutageRecovers(t *testing.T) {
	port := testenv.FreePort(t)
	opts := []kfake.Opt{
		kfake.NumBrokers(1), kfake.Ports(port), kfake.GroupMinSessionTimeout(100 * time.Millisecond),
		kfake.DataDir(t.TempDir()), kfake.SyncWrites(),
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(cluster)
	p := newProducer(t, cfg)
	var log handledLog
	start(t, kafkaq.NewConsumer(cfg), func(_ context.Context, d *queue.Delivery) error { log.add(d); return nil })
	publishTargets(t, p, 1, 0, 3)
	waitFor(t, 20*time.Second, "before the outage", func() bool { return log.distinct() == 3 })

	cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	err = p.Publish(ctx, queuetest.Msg("live://0", 99))
	cancel()
	if err == nil {
		t.Fatal("publish with the cluster down succeeded")
	}
	time.Sleep(500 * time.Millisecond)

	cluster, err = kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	waitFor(t, 20*time.Second, "publish after the outage", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return p.Publish(ctx, queuetest.Msg("live://0", 3)) == nil
	})
	waitFor(t, 30*time.Second, "delivery after the outage", func() bool { return log.distinct() >= 4 })
}
