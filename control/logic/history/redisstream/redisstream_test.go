package redisstream_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/control/logic/history/historytest"
	"github.com/goim-edge/goim-edge/control/logic/history/redisstream"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

var prefixes atomic.Int64

func config(srv *testenv.Server, prefix string) redisstore.Config {
	cfg := redisstore.DefaultConfig()
	cfg.Addr = srv.Addr
	cfg.Prefix = prefix
	return cfg
}

func open(t testing.TB, srv *testenv.Server, prefix string, clock history.Clock) *redisstream.Store {
	t.Helper()
	s, err := redisstream.New(config(srv, prefix), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func freshPrefix() string { return "t" + strconv.FormatInt(prefixes.Add(1), 10) + ":" }

func TestStore(t *testing.T) {
	srv := testenv.Redis(t)
	historytest.Run(t, func(t *testing.T, clock history.Clock) history.Store {
		return open(t, srv, freshPrefix(), clock)
	})
}

var lim = history.Limits{Size: 1000, TTL: time.Hour}

// TestTwoInstances: two logic instances (two stores on one Redis) appending
// to one stream at once get distinct, consecutive offsets in one epoch,
// and either reads back every message in offset order.
func TestTwoInstances(t *testing.T) {
	srv := testenv.Redis(t)
	p := freshPrefix()
	a, b := open(t, srv, p, nil), open(t, srv, p, nil)
	const st, each = "room:live://1000", 200
	var mu sync.Mutex
	byOffset := map[int64]string{}
	epochs := map[string]bool{}
	var wg sync.WaitGroup
	for name, s := range map[string]*redisstream.Store{"a": a, "b": b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("%s-%d", name, i)
				pos, err := s.Append(context.Background(), []history.Target{{Stream: st, Limits: lim}}, history.Message{ID: id})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if old, dup := byOffset[pos[0].Offset]; dup {
					t.Errorf("offset %d given to %s and %s", pos[0].Offset, old, id)
				}
				byOffset[pos[0].Offset] = id
				epochs[pos[0].Epoch] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(byOffset) != 2*each || len(epochs) != 1 {
		t.Fatalf("%d offsets in %d epochs, want %d in 1", len(byOffset), len(epochs), 2*each)
	}
	r, err := b.Since(context.Background(), st, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Recovered || len(r.Messages) != 2*each {
		t.Fatalf("read back %d messages, recovered %v", len(r.Messages), r.Recovered)
	}
	for i, m := range r.Messages {
		if m.Offset != int64(i+1) || m.ID != byOffset[m.Offset] {
			t.Fatalf("message %d = offset %d id %s, want offset %d id %s", i, m.Offset, m.ID, i+1, byOffset[int64(i+1)])
		}
	}
}

// TestFlushAll: a Redis that lost its data (FLUSHALL) gives the stream a
// new epoch; a reader at the old position gets recovered=false.
func TestFlushAll(t *testing.T) {
	srv := testenv.Redis(t)
	s := open(t, srv, freshPrefix(), nil)
	ctx := context.Background()
	const st = "user:77"
	var old history.Pos
	for i := 0; i < 3; i++ {
		pos, err := s.Append(ctx, []history.Target{{Stream: st, Limits: lim}}, history.Message{ID: strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		old = pos[0]
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if pos, err := s.Position(ctx, st); err != nil || pos != (history.Pos{Stream: st}) {
		t.Fatalf("Position after FLUSHALL = %+v, %v; want no history", pos, err)
	}
	pos, err := s.Append(ctx, []history.Target{{Stream: st, Limits: lim}}, history.Message{ID: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if pos[0].Epoch == old.Epoch || pos[0].Offset != 1 {
		t.Fatalf("append after FLUSHALL = %+v, want offset 1 in a new epoch (old %s)", pos[0], old.Epoch)
	}
	r, err := s.Since(ctx, st, old.Epoch, old.Offset, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r.Recovered || len(r.Messages) != 1 || r.Messages[0].ID != "new" || r.Pos != pos[0] {
		t.Fatalf("Since old position = %+v, want not recovered, the new message", r)
	}
}

// TestScriptCacheLost: appends keep working after Redis forgot its
// scripts (a restart keeps no script cache), pipelined or not.
func TestScriptCacheLost(t *testing.T) {
	srv := testenv.Redis(t)
	s := open(t, srv, freshPrefix(), nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	targets := []history.Target{{Stream: "user:1", Limits: lim}, {Stream: "user:2", Limits: lim}}
	for i := 1; i <= 3; i++ {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		pos, err := s.Append(ctx, targets, history.Message{ID: strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		if pos[0].Offset != int64(i) || pos[1].Offset != int64(i) {
			t.Fatalf("append %d = %+v: each stream must get it once", i, pos)
		}
	}
}

// TestAckLayout: the acknowledged offset is field a of the stream's meta
// hash (its slot and expiry by construction), and an ack does not renew
// the stream's expiry, so acks never keep a stream alive.
func TestAckLayout(t *testing.T) {
	srv := testenv.Redis(t)
	p := freshPrefix()
	s := open(t, srv, p, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	const st = "user:31"
	pos, err := s.Append(ctx, []history.Target{{Stream: st, Limits: history.Limits{Size: 10, TTL: time.Minute}}}, history.Message{ID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	meta := p + "h:{" + st + "}:m"
	before, err := rdb.PTTL(ctx, meta).Result()
	if err != nil || before <= 0 {
		t.Fatalf("PTTL of %s = %v, %v", meta, before, err)
	}
	if r, err := s.Ack(ctx, st, pos[0].Epoch, 1); err != nil || r != history.AckAdvanced {
		t.Fatalf("Ack = %q, %v", r, err)
	}
	if a, err := rdb.HGet(ctx, meta, "a").Result(); err != nil || a != "1" {
		t.Fatalf("field a of %s = %q, %v; want 1", meta, a, err)
	}
	if after, err := rdb.PTTL(ctx, meta).Result(); err != nil || after > before || after <= 0 {
		t.Fatalf("PTTL after the ack = %v (before %v), %v: an ack must not renew it", after, before, err)
	}
	if n, err := rdb.Exists(ctx, p+"h:{"+st+"}:a", p+"a:{"+st+"}").Result(); err != nil || n != 0 {
		t.Fatalf("an ack made a key of its own (%d), %v", n, err)
	}
}

func TestDecodeEntry(t *testing.T) {
	m, at, err := redisstream.DecodeEntry("7|1700000000000|-3|42|2|abbody|with|bars")
	if err != nil || at != 1700000000000 || m.Offset != 7 || m.Op != -3 || m.EnqueuedUnixNano != 42 || m.ID != "ab" || string(m.Body) != "body|with|bars" {
		t.Fatalf("DecodeEntry = %+v, %d, %v", m, at, err)
	}
	for _, bad := range []string{"", "1|2|3|4|", "0|1|2|3|0|", "1|1|2|3|5|abc", "1|1|9999999999|3|0|", "x|1|2|3|0|", "1|1|2|3|-1|"} {
		if _, _, err := redisstream.DecodeEntry(bad); err == nil {
			t.Errorf("DecodeEntry(%q): no error", bad)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	for _, s := range []string{"7|1700000000000|-3|42|2|abbody", "1|0|0|0|0|", "", "1|2|3|4|99|x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, e string) {
		m, _, err := redisstream.DecodeEntry(e)
		if err != nil {
			return
		}
		if m.Offset <= 0 || !strings.HasSuffix(e, m.ID+string(m.Body)) {
			t.Fatalf("DecodeEntry(%q) = %+v", e, m)
		}
	})
}

// BenchmarkAppend is the cost of one append (one script call, one round
// trip) on a local redis-server.
func BenchmarkAppend(b *testing.B) {
	srv := testenv.Redis(b)
	s := open(b, srv, freshPrefix(), nil)
	t := []history.Target{{Stream: "room:live://1", Limits: history.Limits{Size: 100, TTL: time.Hour}}}
	m := history.Message{ID: "0123456789abcdef0123456789abcdef", Op: 1000, Body: make([]byte, 64)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(ctx, t, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// BenchmarkLayout compares the two layouts considered, each kept at 100
// messages of a 36-byte id and a 64-byte body: the Redis Stream this
// package uses and a capped list of self-contained entries (offset and
// fields packed in one string) with an INCR counter. It reports the
// memory per message (MEMORY USAGE of the data key / 100) and the
// appends per second of each, through a script of the same shape.
func BenchmarkLayout(b *testing.B) {
	srv := testenv.Redis(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	id := "0123456789abcdef0123456789abcdef0123"
	body := string(make([]byte, 64))
	streamAdd := redis.NewScript(`
local off = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', 100, string.format('%d-0', off), 'i', ARGV[1], 'p', 1000, 't', ARGV[3], 'n', ARGV[3], 'b', ARGV[2])
return off`)
	listAdd := redis.NewScript(`
local off = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], string.format('%d|1000|%s|%s|%s|', off, ARGV[3], ARGV[3], ARGV[1]) .. ARGV[2])
redis.call('LTRIM', KEYS[1], -100, -1)
return off`)
	for _, tc := range []struct {
		name   string
		script *redis.Script
	}{{"stream", streamAdd}, {"list", listAdd}} {
		b.Run(tc.name, func(b *testing.B) {
			keys := []string{"bench:" + tc.name, "bench:" + tc.name + ":o"}
			rdb.Del(ctx, keys...)
			now := time.Now().UnixMilli()
			for b.Loop() {
				if err := tc.script.Run(ctx, rdb, keys, id, body, now).Err(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			// Measure a stream trimmed exactly to 100, as the list is.
			rdb.Do(ctx, "XTRIM", keys[0], "MAXLEN", 100)
			n, err := rdb.MemoryUsage(ctx, keys[0], 0).Result()
			if err != nil {
				b.Fatal(err)
			}
			var kept int64
			if tc.name == "stream" {
				kept = rdb.XLen(ctx, keys[0]).Val()
			} else {
				kept = rdb.LLen(ctx, keys[0]).Val()
			}
			b.ReportMetric(float64(n)/float64(max(kept, 1)), "B/msg")
		})
	}
}

// BenchmarkTail is a resume's read: the newest 100 of 1000 kept messages
// after a position 900 behind (one script call).
//
//	go test -run '^$' -bench Tail -benchtime 5000x ./control/logic/history/redisstream/
func BenchmarkTail(b *testing.B) {
	srv := testenv.Redis(b)
	s := open(b, srv, freshPrefix(), nil)
	t := []history.Target{{Stream: "room:live://1", Limits: history.Limits{Size: 1000, TTL: time.Hour}}}
	m := history.Message{ID: "0123456789abcdef0123456789abcdef", Op: 1000, Body: make([]byte, 64)}
	ctx := context.Background()
	var last history.Pos
	for i := 0; i < 1000; i++ {
		pos, err := s.Append(ctx, t, m)
		if err != nil {
			b.Fatal(err)
		}
		last = pos[0]
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := s.Tail(ctx, t[0].Stream, last.Epoch, 100, 100)
		if err != nil || !r.Cut || len(r.Messages) != 100 {
			b.Fatal(r.Cut, len(r.Messages), err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}
