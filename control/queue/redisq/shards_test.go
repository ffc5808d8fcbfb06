package redisq_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

// thirdOf is the master holding slot in a three-master cluster split the
// way redis-cli --cluster create splits it (0-5460, 5461-10922,
// 10923-16383).
func thirdOf(slot int) int {
	switch {
	case slot <= 5460:
		return 0
	case slot <= 10922:
		return 1
	}
	return 2
}

// TestShardStreams: the names and slots of every shard count: distinct
// streams at distinct slots, shard 0 the historical name, a smaller
// count's shards a prefix of a larger one's, each dead-letter stream in
// its shard's slot, and from three shards on one shard per third of the
// slot range (one per master of an evenly split three-master cluster).
// TestClusterShardSlots checks KeySlot against CLUSTER KEYSLOT.
func TestShardStreams(t *testing.T) {
	single := redisq.DefaultConfig()
	cluster := redisq.DefaultConfig()
	cluster.Addrs = []string{"127.0.0.1:7000"}
	for _, tc := range []struct {
		name   string
		cfg    redisq.Config
		shard0 string
	}{
		{"single", single, "goim-push"},
		{"cluster", cluster, "{goim-push}"},
	} {
		for _, n := range []int{1, 2, 3, 4, 5, 16, 100, 256} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, n), func(t *testing.T) {
				cfg := tc.cfg
				cfg.Shards = n
				streams := redisq.ShardStreams(cfg)
				dead := redisq.DeadStreams(cfg)
				if len(streams) != n || len(dead) != n {
					t.Fatalf("%d streams, %d dead-letter streams, want %d", len(streams), len(dead), n)
				}
				if streams[0] != tc.shard0 || dead[0] != redisq.DeadStream(cfg) {
					t.Fatalf("shard 0 = %q (dead %q), want the unsharded %q (dead %q)", streams[0], dead[0], tc.shard0, redisq.DeadStream(cfg))
				}
				slots := map[int]string{}
				thirds := map[int]bool{}
				for i, s := range streams {
					slot := redisq.KeySlot(s)
					if other, dup := slots[slot]; dup {
						t.Fatalf("shards %q and %q share slot %d", other, s, slot)
					}
					slots[slot] = s
					thirds[thirdOf(slot)] = true
					// Shard 0 of one server keeps its untagged name: slots
					// only matter in a cluster.
					if ds := redisq.KeySlot(dead[i]); ds != slot && (i > 0 || tc.name == "cluster") {
						t.Fatalf("dead-letter stream %q in slot %d, its shard %q in %d", dead[i], ds, s, slot)
					}
					if i > 0 && !strings.HasPrefix(s, "goim-push:{") {
						t.Fatalf("shard %d = %q, want goim-push:{tag}", i, s)
					}
				}
				if want := min(n, 3); len(thirds) != want {
					t.Fatalf("%d shards cover %d thirds of the slot range, want %d", n, len(thirds), want)
				}
				if n > 1 {
					smaller := cfg
					smaller.Shards = n - 1
					if got := redisq.ShardStreams(smaller); !slices.Equal(got, streams[:n-1]) {
						t.Fatalf("%d shards are not a prefix of %d shards: %q vs %q", n-1, n, got, streams)
					}
				}
			})
		}
	}
}

// TestShardOf: one target always maps to one shard, and 64 targets reach
// every one of 4 shards.
func TestShardOf(t *testing.T) {
	used := map[int]int{}
	for i := range 64 {
		target := queue.TargetKey(queuetest.Msg("live://"+strconv.Itoa(i), 0))
		s := redisq.ShardOf(target, 4)
		if s != redisq.ShardOf(target, 4) || s < 0 || s >= 4 {
			t.Fatalf("ShardOf(%q, 4) = %d", target, s)
		}
		if redisq.ShardOf(target, 1) != 0 {
			t.Fatalf("ShardOf(%q, 1) != 0", target)
		}
		used[s]++
	}
	if len(used) != 4 {
		t.Fatalf("64 targets use shards %v, want all 4", used)
	}
}

// streamContents reads every entry of stream, decoded.
func streamContents(t *testing.T, rdb redis.Cmdable, stream string) []*common.PushMsg {
	t.Helper()
	entries, err := rdb.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil {
		t.Fatalf("xrange %s: %v", stream, err)
	}
	var out []*common.PushMsg
	for _, e := range entries {
		raw, _ := e.Values["d"].(string)
		m, err := queue.Decode([]byte(raw))
		if err != nil {
			t.Fatalf("%s: undecodable entry %s: %v", stream, e.ID, err)
		}
		out = append(out, m)
	}
	return out
}

// TestShardsSpreadAndOrder: with four shards on a real Redis every shard's
// stream gets messages, every target's messages are all in the one stream
// ShardOf names, in publish order, and one consumer hands each target's
// messages over in that order; delivery ids name their stream.
func TestShardsSpreadAndOrder(t *testing.T) {
	srv := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	cfg := testConfig(srv.Addr)
	cfg.Shards = 4
	streams := redisq.ShardStreams(cfg)
	p := redisq.NewProducer(cfg)
	t.Cleanup(func() { _ = p.Close() })
	const targets, per = 32, 20
	for i := range per {
		for k := range targets {
			if err := p.Publish(context.Background(), queuetest.Msg("live://"+strconv.Itoa(k), i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, s := range streams {
		msgs := streamContents(t, rdb, s)
		if len(msgs) == 0 {
			t.Errorf("shard %d (%s) is empty", i, s)
		}
		next := map[string]int{}
		for _, m := range msgs {
			if want := redisq.ShardOf(queue.TargetKey(m), len(streams)); want != i {
				t.Fatalf("%s is in shard %d, ShardOf says %d", m.Id, i, want)
			}
			seq, _ := strconv.Atoi(string(m.Body))
			if seq != next[m.Room] {
				t.Fatalf("shard %d: %s after seq %d", i, m.Id, next[m.Room]-1)
			}
			next[m.Room]++
		}
	}

	var rec queuetest.Recorder
	queuetest.Start(t, redisq.NewConsumer(cfg), rec.Handle)
	queuetest.WaitFor(t, 20*time.Second, "every message", func() bool { return rec.Distinct() == targets*per })
	next := map[string]int{}
	for _, d := range rec.All() {
		seq, _ := strconv.Atoi(string(d.Msg.Body))
		if seq != next[d.Msg.Room] {
			t.Fatalf("target %s: got seq %d, want %d", d.Msg.Room, seq, next[d.Msg.Room])
		}
		next[d.Msg.Room]++
		shard := streams[redisq.ShardOf(queue.TargetKey(d.Msg), len(streams))]
		if !strings.HasPrefix(d.ID, shard+"/") {
			t.Fatalf("delivery id %q does not name its stream %s", d.ID, shard)
		}
	}
	if len(rec.All()) != targets*per {
		t.Fatalf("%d deliveries of %d messages", len(rec.All()), targets*per)
	}
}

// targetOnShard finds a room whose messages go to shard i of n.
func targetOnShard(t *testing.T, i, n int) string {
	t.Helper()
	for k := range 10000 {
		room := "live://poison-" + strconv.Itoa(k)
		if redisq.ShardOf(queue.TargetKey(queuetest.Msg(room, 0)), n) == i {
			return room
		}
	}
	t.Fatalf("no room found for shard %d of %d", i, n)
	return ""
}

// TestShardsPoisonPerShard: a poison message of every shard is moved to
// that shard's own dead-letter stream (one MULTI, one slot), and the
// messages behind it on the same target arrive.
func TestShardsPoisonPerShard(t *testing.T) {
	srv := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	cfg := testConfig(srv.Addr)
	cfg.Shards = 4
	p := redisq.NewProducer(cfg)
	t.Cleanup(func() { _ = p.Close() })
	rooms := make([]string, cfg.Shards)
	for i := range rooms {
		rooms[i] = targetOnShard(t, i, cfg.Shards)
		for seq := range 3 {
			if err := p.Publish(context.Background(), queuetest.Msg(rooms[i], seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var rec queuetest.Recorder
	queuetest.Start(t, redisq.NewConsumer(cfg), func(ctx context.Context, d *queue.Delivery) error {
		if string(d.Msg.Body) == "1" {
			return fmt.Errorf("seq 1: %w", queue.ErrPoison)
		}
		return rec.Handle(ctx, d)
	})
	queuetest.WaitFor(t, 20*time.Second, "the healthy messages", func() bool { return rec.Distinct() == 2*cfg.Shards })
	dead := redisq.DeadStreams(cfg)
	queuetest.WaitFor(t, 20*time.Second, "a dead letter in every shard", func() bool {
		for _, d := range dead {
			if n, err := rdb.XLen(context.Background(), d).Result(); err != nil || n == 0 {
				return false
			}
		}
		return true
	})
	for i, d := range dead {
		msgs := streamContents(t, rdb, d)
		if len(msgs) != 1 || msgs[0].Id != rooms[i]+"/1" {
			var ids []string
			for _, m := range msgs {
				ids = append(ids, m.Id)
			}
			t.Fatalf("dead letters of shard %d (%s) = %v, want [%s/1]", i, d, ids, rooms[i])
		}
	}
}

// TestShardsRaised: messages queued by producers with two shards are
// consumed by a consumer already configured with four (the first two
// shards are the same streams), as are those published with four.
func TestShardsRaised(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := testConfig(srv.Addr)
	old := cfg
	old.Shards = 2
	cfg.Shards = 4
	pOld := redisq.NewProducer(old)
	t.Cleanup(func() { _ = pOld.Close() })
	pNew := redisq.NewProducer(cfg)
	t.Cleanup(func() { _ = pNew.Close() })
	const targets = 16
	for k := range targets {
		if err := pOld.Publish(context.Background(), queuetest.Msg("live://"+strconv.Itoa(k), 0)); err != nil {
			t.Fatal(err)
		}
	}
	var rec queuetest.Recorder
	queuetest.Start(t, redisq.NewConsumer(cfg), rec.Handle)
	for k := range targets {
		if err := pNew.Publish(context.Background(), queuetest.Msg("live://"+strconv.Itoa(k), 1)); err != nil {
			t.Fatal(err)
		}
	}
	queuetest.WaitFor(t, 20*time.Second, "messages of both shard counts", func() bool { return rec.Distinct() == 2*targets })
}

// TestShardsRefused: a shard count outside 1..256 fails every publish
// with the reason instead of guessing.
func TestShardsRefused(t *testing.T) {
	for _, n := range []int{257, 1000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			cfg := testConfig("127.0.0.1:1")
			cfg.Shards = n
			if _, err := redisq.NewClient(cfg); err == nil || !strings.Contains(err.Error(), "want 1 to 256") {
				t.Fatalf("NewClient with %d shards: %v", n, err)
			}
			p := redisq.NewProducer(cfg)
			defer p.Close()
			err := p.Publish(context.Background(), queuetest.Msg("live://x", 0))
			if err == nil || !strings.Contains(err.Error(), "want 1 to 256") {
				t.Fatalf("Publish with %d shards: %v", n, err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("timed out instead of refusing")
			}
		})
	}
}

// TestShardsLowered: a consumer with fewer shards than the producers
// never reads the shards above its count (their group is not even
// created), which is why lowering shards needs them drained first; a
// consumer with the old count then delivers what was stranded.
func TestShardsLowered(t *testing.T) {
	srv := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	cfg := testConfig(srv.Addr)
	cfg.Shards = 4
	lowered := cfg
	lowered.Shards = 2
	p := redisq.NewProducer(cfg)
	t.Cleanup(func() { _ = p.Close() })
	high, low := targetOnShard(t, 3, 4), targetOnShard(t, 0, 4)
	for _, room := range []string{high, low} {
		if err := p.Publish(context.Background(), queuetest.Msg(room, 0)); err != nil {
			t.Fatal(err)
		}
	}
	var rec queuetest.Recorder
	stop := queuetest.Start(t, redisq.NewConsumer(lowered), rec.Handle)
	queuetest.WaitFor(t, 20*time.Second, "the shard 0 message", func() bool { return rec.Times(low+"/0") == 1 })
	stop()
	shard3 := redisq.ShardStreams(cfg)[3]
	groups, err := rdb.XInfoGroups(context.Background(), shard3).Result()
	if err != nil || len(groups) != 0 || rec.Times(high+"/0") != 0 {
		t.Fatalf("a 2-shard consumer touched shard 3 (%s): groups %v, err %v, delivered %d", shard3, groups, err, rec.Times(high+"/0"))
	}
	queuetest.Start(t, redisq.NewConsumer(cfg), rec.Handle)
	queuetest.WaitFor(t, 20*time.Second, "the stranded shard 3 message", func() bool { return rec.Times(high+"/0") == 1 })
}
