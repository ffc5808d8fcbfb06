package kafkaq_test

import (
	"context"
	"strconv"
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

// checkOrder fails unless every target's messages were first handled in
// publish order. A redelivery after a rebalance repeats an earlier range,
// which at-least-once allows; it must not skip ahead.
func checkOrder(t *testing.T, handled *queuetest.Recorder) {
	t.Helper()
	next := map[string]int{}
	for _, d := range handled.All() {
		seq, _ := strconv.Atoi(string(d.Msg.Body))
		if seq > next[d.Msg.Room] {
			t.Fatalf("target %s: handled %d before %d", d.Msg.Room, seq, next[d.Msg.Room])
		}
		if seq == next[d.Msg.Room] {
			next[d.Msg.Room]++
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
	var log queuetest.Recorder
	var hung atomic.Bool
	var aCount atomic.Int64
	a := kafkaq.NewConsumer(cfg)
	release := make(chan struct{})
	queuetest.Start(t, a, func(ctx context.Context, d *queue.Delivery) error {
		if hung.Load() {
			select { // stuck until the test ends
			case <-release:
			case <-ctx.Done():
			}
			return context.Canceled
		}
		log.Add(d)
		aCount.Add(1)
		return nil
	})
	t.Cleanup(func() { close(release) })
	publishTargets(t, p, 8, 0, 20)
	queuetest.WaitFor(t, 20*time.Second, "job-a to handle some", func() bool { return aCount.Load() >= 40 })
	hung.Store(true)
	publishTargets(t, p, 8, 20, 50)

	b := kafkaq.NewConsumer(cfg)
	queuetest.Start(t, b, func(ctx context.Context, d *queue.Delivery) error { log.Add(d); return nil })
	queuetest.WaitFor(t, 30*time.Second, "every record at job-b", func() bool { return log.Distinct() == 8*50 })
	checkOrder(t, &log)
}

// TestOrderAcrossJobs: three jobs join and leave while records flow; every
// target's records are still handled in order.
func TestOrderAcrossJobs(t *testing.T) {
	cluster := newCluster(t)
	cfg := testConfig(cluster)
	p := newProducer(t, cfg)
	var log queuetest.Recorder
	h := func(ctx context.Context, d *queue.Delivery) error { log.Add(d); return nil }
	stop1 := queuetest.Start(t, kafkaq.NewConsumer(cfg), h)
	publishTargets(t, p, 16, 0, 30)
	queuetest.Start(t, kafkaq.NewConsumer(cfg), h)
	publishTargets(t, p, 16, 30, 60)
	stop1()
	queuetest.Start(t, kafkaq.NewConsumer(cfg), h)
	publishTargets(t, p, 16, 60, 100)
	queuetest.WaitFor(t, 30*time.Second, "every record", func() bool { return log.Distinct() == 16*100 })
	checkOrder(t, &log)
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
	var log queuetest.Recorder
	stop := queuetest.Start(t, kafkaq.NewConsumer(cfg), func(_ context.Context, d *queue.Delivery) error { log.Add(d); return nil })
	queuetest.WaitFor(t, 20*time.Second, "the good records", func() bool { return log.Distinct() == 5 })
	queuetest.WaitFor(t, 20*time.Second, "the dead letter", func() bool { return len(dead.get()) == 1 })
	dead.mu.Lock()
	h := dead.hdrs[0]
	dead.mu.Unlock()
	if h["goim-source"] == "" || h["goim-error"] == "" || h["goim-attempts"] != "1" {
		t.Fatalf("dead letter headers = %v", h)
	}
	stop()

	// Everything was committed: a new member of the group gets nothing old.
	var again queuetest.Recorder
	queuetest.Start(t, kafkaq.NewConsumer(cfg), func(_ context.Context, d *queue.Delivery) error { again.Add(d); return nil })
	publishTargets(t, p, 1, 5, 6)
	queuetest.WaitFor(t, 20*time.Second, "the new record", func() bool { return again.Distinct() == 1 })
	time.Sleep(200 * time.Millisecond) // deliberate: an old record still coming would arrive meanwhile
	if n := again.Distinct(); n != 1 {
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
	var log queuetest.Recorder
	queuetest.Start(t, kafkaq.NewConsumer(cfg), func(_ context.Context, d *queue.Delivery) error { log.Add(d); return nil })
	publishTargets(t, p, 1, 0, 3)
	queuetest.WaitFor(t, 20*time.Second, "before the outage", func() bool { return log.Distinct() == 3 })

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
	queuetest.WaitFor(t, 20*time.Second, "publish after the outage", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return p.Publish(ctx, queuetest.Msg("live://0", 3)) == nil
	})
	queuetest.WaitFor(t, 30*time.Second, "delivery after the outage", func() bool { return log.Distinct() >= 4 })
}
