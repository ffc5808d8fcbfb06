package redisq

import (
	"context"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/internal/lanes"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// TestRedeliveryReadRacingAnAck: a redelivery read (XREADGROUP from 0,
// XAUTOCLAIM) that was on its way while a message's XACK landed still
// returns the message, whose in-flight mark the ack already cleared. It
// must not be handed out again; a message still pending must be, as a
// redelivery. (Under load this race doubled deliveries right after a
// restart.)
func TestRedeliveryReadRacingAnAck(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := DefaultConfig()
	cfg.Addr, cfg.Stream, cfg.Consumer = srv.Addr, "race", "job-x"
	ctx := context.Background()

	p := NewProducer(cfg)
	defer p.Close()
	for i := range 2 {
		if err := p.Publish(ctx, queuetest.Msg("live://r", i)); err != nil {
			t.Fatal(err)
		}
	}
	c := NewConsumer(cfg)
	defer c.Close()
	s := c.shards[0]
	if err := s.ensureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	// Both delivered to job-x and pending; then read again from 0, as a
	// restarted job-x does: the snapshot a redelivery read returns. Then
	// the first one is acked, as a worker would meanwhile.
	var msgs []redis.XMessage
	for _, from := range []string{">", "0"} {
		res, err := c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: cfg.Group, Consumer: cfg.Consumer, Streams: []string{s.stream, from}, Count: 10}).Result()
		if err != nil || len(res) != 1 || len(res[0].Messages) != 2 {
			t.Fatalf("read from %s: %v %v", from, res, err)
		}
		msgs = res[0].Messages
	}
	if err := c.rdb.XAck(ctx, s.stream, cfg.Group, msgs[0].ID).Err(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string][]int{}
	l := lanes.New(1, laneDepth)
	acks := newAcker(s)
	r := &runner{s: s, c: c, lanes: l, acks: acks, h: func(_ context.Context, d *queue.Delivery) error {
		mu.Lock()
		got[d.ID] = append(got[d.ID], d.Attempt)
		mu.Unlock()
		return nil
	}}
	r.dispatchRedelivered(ctx, msgs)
	l.Wait()
	acks.close()

	if a := got[msgs[0].ID]; len(a) != 0 {
		t.Errorf("acked message handed out again: attempts %v", a)
	}
	if a := got[msgs[1].ID]; len(a) != 1 || a[0] != 2 {
		t.Errorf("pending message: attempts %v, want one redelivery (attempt 2)", a)
	}
	if s.isInFlight(msgs[0].ID) {
		t.Error("the skipped message is still marked in flight")
	}
}
