package edge

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

// fakeClock drives a dedup's clock by hand.
type fakeClock struct{ t int64 }

func (c *fakeClock) now() int64          { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t += int64(d) }
func newTestDedup(w time.Duration, n int, c *fakeClock) *dedup {
	d := newDedup(w, n)
	d.now = c.now
	return d
}

func TestDedupWindow(t *testing.T) {
	const w = time.Minute
	type step struct {
		advance time.Duration
		want    bool // m1 seen as a duplicate at this step
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"at once", []step{{0, true}}},
		{"within the window", []step{{w - time.Second, true}}},
		{"one window later", []step{{w, true}}},
		{"idle for long: still remembered (memory is bounded, not time)", []step{{time.Hour, true}}},
		{"forgotten after two rotations", []step{{w, true}, {w, false}, {0, true}}},
		{"remembered until the second rotation", []step{{w, true}, {w - time.Second, true}, {time.Second, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeClock{t: 1e18}
			d := newTestDedup(w, 1<<20, c)
			d.clockMask = 0 // read the clock on every call
			if d.seen("m1") {
				t.Fatal("first push seen as a duplicate")
			}
			for i, st := range tc.steps {
				c.add(st.advance)
				if got := d.seen("m1"); got != st.want {
					t.Errorf("step %d (+%v): seen = %v, want %v", i, st.advance, got, st.want)
				}
			}
		})
	}
}

// Every id is remembered at least one window, whatever the rotations in
// between; ids never delivered are never dropped; empty ids are never
// remembered.
func TestDedupRemembersAtLeastOneWindow(t *testing.T) {
	const w = 10 * time.Second
	c := &fakeClock{t: 1e18}
	d := newTestDedup(w, 1<<20, c)
	for i := range 1000 {
		id := strconv.Itoa(i)
		if d.seen(id) {
			t.Fatalf("new id %s seen as a duplicate", id)
		}
		c.add(w / 100) // 1000 ids over 10 windows
		if i >= 100 {
			old := strconv.Itoa(i - 99) // 99 steps = 0.99 window ago
			if !d.seen(old) {
				t.Fatalf("id %s forgotten within the window", old)
			}
		}
	}
	// Each id is offered twice: the second offer is the one a remembered
	// id would be dropped on.
	if first, again := d.seen(""), d.seen(""); first || again {
		t.Error("an empty id was deduplicated")
	}
	var nilDedup *dedup
	if first, again := nilDedup.seen("x"), nilDedup.seen("x"); first || again {
		t.Error("a disabled filter dropped a push")
	}
}

// Past dedup_max_ids the filter forgets early instead of growing.
func TestDedupBoundedMemory(t *testing.T) {
	c := &fakeClock{t: 1e18}
	const maxIDs = 1024
	d := newTestDedup(time.Hour, maxIDs, c)
	before := counterValue(t, dedupEarlyRotations)
	for i := range 100 * maxIDs {
		d.seen(strconv.Itoa(i))
	}
	total := 0
	for i := range d.shards {
		s := &d.shards[i]
		if len(s.cur) > d.maxShard || len(s.prev) > d.maxShard {
			t.Fatalf("shard %d holds %d+%d ids, cap %d", i, len(s.cur), len(s.prev), d.maxShard)
		}
		total += len(s.cur) + len(s.prev)
	}
	if total > 2*maxIDs {
		t.Errorf("%d ids remembered, want at most %d", total, 2*maxIDs)
	}
	if counterValue(t, dedupEarlyRotations) == before {
		t.Error("early rotations not counted")
	}
}

// Retried and redelivered pushes (same message id) reach each device once;
// a refused push is not remembered, so its corrected retry is delivered.
func TestHandlerDropsDuplicatePushes(t *testing.T) {
	srv := newUnitServer(t, nil)
	a := &recTransport{}
	sa := publishedSession(srv, "a", a, 1000, 1001, 1002)
	if !sa.join("live://1") {
		t.Fatal("join")
	}
	h := &Handler{srv: srv}
	ctx := context.Background()
	keysBefore := counterValue(t, dupesDropped.WithLabelValues("keys"))
	roomBefore := counterValue(t, dupesDropped.WithLabelValues("room"))

	// A refused push first: its id must stay free.
	if _, err := h.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"a"}, Op: protocol.OpRaw, MsgId: "k1"}); err == nil {
		t.Fatal("op 9 accepted")
	}
	for range 3 {
		if _, err := h.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"a"}, Op: 1000, Body: []byte("k1"), MsgId: "k1"}); err != nil {
			t.Fatal(err)
		}
	}
	// A batch repeating one message already delivered and one twice.
	room := func(ids ...string) *edge.PushRoomReq {
		req := &edge.PushRoomReq{Room: "live://1"}
		for _, id := range ids {
			req.Msgs = append(req.Msgs, &edge.RoomMsg{Op: 1001, Body: []byte(id), MsgId: id})
		}
		return req
	}
	for _, req := range []*edge.PushRoomReq{room("r1"), room("r1", "r2", "r2"), room("r2")} {
		if _, err := h.PushRoom(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := h.Broadcast(ctx, &edge.BroadcastReq{Op: 1002, Body: []byte("b1"), MsgId: "b1"}); err != nil {
			t.Fatal(err)
		}
	}
	// Without ids nothing is dropped.
	for range 2 {
		if _, err := h.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"a"}, Op: 1000, Body: []byte("noid")}); err != nil {
			t.Fatal(err)
		}
	}

	// A last room push: the session's queue is in order, so once it is
	// written everything pushed before it is too.
	if _, err := h.PushRoom(ctx, room("end")); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"k1": 1, "r1": 1, "r2": 1, "b1": 1, "noid": 2, "end": 1}
	got := map[string]int{}
	eventually(t, "every push written", func() bool {
		got = map[string]int{}
		for _, raw := range a.written() {
			for _, body := range frameBodies(t, raw) {
				got[body]++
			}
		}
		return got["end"] == 1 && got["b1"] >= 1
	})
	for id, n := range want {
		if got[id] != n {
			t.Errorf("%s delivered %d times, want %d (all: %v)", id, got[id], n, got)
		}
	}
	if n := counterValue(t, dupesDropped.WithLabelValues("keys")) - keysBefore; n != 2 {
		t.Errorf("keys duplicates counted %v, want 2", n)
	}
	if n := counterValue(t, dupesDropped.WithLabelValues("room")) - roomBefore; n != 3 {
		t.Errorf("room duplicates counted %v, want 3", n)
	}
}

// frameBodies is the bodies of the push frames in raw (a room batch is
// an OpRaw frame holding frames).
func frameBodies(t *testing.T, raw []byte) []string {
	t.Helper()
	var out []string
	for len(raw) > 0 {
		f, n, err := protocol.Decode(raw, 1<<20)
		if err != nil {
			t.Fatalf("frame: %v", err)
		}
		raw = raw[n:]
		if f.Op == protocol.OpRaw {
			out = append(out, frameBodies(t, f.Body)...)
			continue
		}
		out = append(out, string(f.Body))
	}
	return out
}

// BenchmarkDedupSeen is the filter's cost per push (new ids: a lookup in
// two generations and an insert).
func BenchmarkDedupSeen(b *testing.B) {
	d := newDedup(2*time.Minute, 1<<20)
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x-%d", i*7919, i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d.seen(ids[i&(len(ids)-1)]) // repeats after 65536: a mix of new and seen
	}
}

// BenchmarkDedupSeenParallel is the same from every core at once (job
// calls PushKeys from many lanes).
func BenchmarkDedupSeenParallel(b *testing.B) {
	d := newDedup(2*time.Minute, 1<<20)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var buf [32]byte
		i := 0
		for pb.Next() {
			i++
			d.seen(string(strconv.AppendInt(buf[:0], int64(i), 10)))
		}
	})
}

// BenchmarkPushKeysDedup is BenchmarkPushKeys with a fresh message id on
// every push (what job sends): the filter's share of the handler's cost.
func BenchmarkPushKeysDedup(b *testing.B) {
	srv := newUnitServer(b, func(c *Config) { c.SendQueue = 1 << 30 })
	for i := range 1000 {
		publishedSession(srv, fmt.Sprint("k", i), &countTransport{}, 1000)
	}
	h := &Handler{srv: srv}
	ids := make([]string, 1<<20)
	for i := range ids {
		ids[i] = fmt.Sprintf("msg-%d", i)
	}
	req := &edge.PushKeysReq{Keys: []string{"k7"}, Op: 1000, Body: []byte("hello")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req.MsgId = ids[i&(len(ids)-1)]
		if _, err := h.PushKeys(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDedupConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"off", func(c *Config) { c.DedupWindow, c.DedupMaxIDs = 0, 0 }, ""},
		{"negative window", func(c *Config) { c.DedupWindow = -time.Second }, "dedup_window"},
		{"too few ids", func(c *Config) { c.DedupMaxIDs = 1 }, "dedup_max_ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Node = "n"
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate = %v, want ok", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error about %s", err, tc.want)
			}
		})
	}
	if d := newDedup(0, 100); d != nil || d.seen("x") || d.seen("x") {
		t.Error("a zero window must turn the filter off")
	}
}
