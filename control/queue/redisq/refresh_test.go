package redisq

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/internal/testenv"
)

// A message in flight in a live consumer has its pending entry touched:
// its idle time restarts, its delivery count stays, and another
// consumer's XAUTOCLAIM no longer finds it idle.
func TestRefreshKeepsInFlightMessages(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := DefaultConfig()
	cfg.Addr = srv.Addr
	cfg.Stream = "refresh-test"
	cfg.Consumer = "job-a"
	cfg.ClaimMinIdle = 300 * time.Millisecond
	c := NewConsumer(cfg)
	defer c.Close()
	ctx := context.Background()
	rdb := c.rdb
	if err := c.shards[0].ensureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: cfg.Stream, Values: []any{fieldData, "x"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: cfg.Group, Consumer: "job-a", Streams: []string{cfg.Stream, ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	c.shards[0].setInFlight(id, true)
	pending := func() redis.XPendingExt {
		t.Helper()
		p, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: cfg.Stream, Group: cfg.Group, Start: id, End: id, Count: 1}).Result()
		if err != nil || len(p) != 1 {
			t.Fatalf("xpending: %v %v", p, err)
		}
		return p[0]
	}
	// Wait until it is idle past ClaimMinIdle: another consumer could take it.
	deadline := time.Now().Add(10 * time.Second)
	var before redis.XPendingExt
	for before = pending(); before.Idle < cfg.ClaimMinIdle; before = pending() {
		if time.Now().After(deadline) {
			t.Fatal("entry never went idle")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.shards[0].refreshInFlight(ctx)
	after := pending()
	if after.Consumer != "job-a" || after.RetryCount != before.RetryCount {
		t.Fatalf("after refresh: owner %s, deliveries %d; want job-a, %d", after.Consumer, after.RetryCount, before.RetryCount)
	}
	if after.Idle >= before.Idle {
		t.Fatalf("idle %v after refresh, was %v: not restarted", after.Idle, before.Idle)
	}
	// Another consumer claiming entries as idle as this one was finds nothing.
	msgs, _, err := rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: cfg.Stream, Group: cfg.Group, Consumer: "job-b", MinIdle: before.Idle, Start: "0-0", Count: 10,
	}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 0 {
		t.Fatalf("job-b claimed %d messages job-a is still handling", len(msgs))
	}
	// A message no longer in flight is left to age (and be claimed).
	c.shards[0].setInFlight(id, false)
	c.shards[0].refreshInFlight(ctx)
	if p := pending(); p.Idle < after.Idle {
		t.Errorf("entry refreshed after it left flight: idle %v < %v", p.Idle, after.Idle)
	}
}
