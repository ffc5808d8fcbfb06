// Package historytest is the suite every history.Store must pass.
package historytest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/history"
)

// Opener returns a fresh, empty store that reads time from clock.
type Opener func(t *testing.T, clock history.Clock) history.Store

// FakeClock is a clock tests move by hand.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock starts at the current time (Redis expiries are real).
func NewFakeClock() *FakeClock { return &FakeClock{t: time.Now()} }

// Now is the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on.
func (c *FakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"Order", testOrder},
		{"SeveralStreams", testSeveralStreams},
		{"BoundBySize", testBoundBySize},
		{"BoundByAge", testBoundByAge},
		{"ExpiredStreamNewEpoch", testExpiredStreamNewEpoch},
		{"OtherEpoch", testOtherEpoch},
		{"FutureOffset", testFutureOffset},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Invalid", testInvalid},
		{"Empty", testEmpty},
		{"Tail", testTail},
		{"Ack", testAck},
		{"AckDroppedWithEpoch", testAckDroppedWithEpoch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

var hour = history.Limits{Size: 100, TTL: time.Hour}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func msg(i int) history.Message {
	return history.Message{ID: fmt.Sprintf("id-%d", i), Op: int32(1000 + i), Body: []byte(fmt.Sprintf("body %d", i)), EnqueuedUnixNano: int64(i)}
}

// appendN appends messages 1..n to stream and returns the last position.
func appendN(t *testing.T, s history.Store, stream string, lim history.Limits, from, n int) history.Pos {
	t.Helper()
	var last history.Pos
	for i := from; i < from+n; i++ {
		pos, err := s.Append(ctx(t), []history.Target{{Stream: stream, Limits: lim}}, msg(i))
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		if len(pos) != 1 || pos[0].Stream != stream || pos[0].Epoch == "" {
			t.Fatalf("Append %d = %+v", i, pos)
		}
		if last.Epoch != "" && (pos[0].Epoch != last.Epoch || pos[0].Offset != last.Offset+1) {
			t.Fatalf("Append %d = %+v after %+v: want the next offset in the same epoch", i, pos[0], last)
		}
		last = pos[0]
	}
	return last
}

func since(t *testing.T, s history.Store, stream, epoch string, offset int64, limit int) history.Range {
	t.Helper()
	r, err := s.Since(ctx(t), stream, epoch, offset, limit)
	if err != nil {
		t.Fatalf("Since(%s, %q, %d, %d): %v", stream, epoch, offset, limit, err)
	}
	return r
}

// want checks a range: recovered, and the messages by their number (the
// i of msg(i)) and offset.
func want(t *testing.T, what string, r history.Range, recovered bool, first, n int, firstOffset int64) {
	t.Helper()
	if r.Recovered != recovered {
		t.Errorf("%s: recovered = %v, want %v", what, r.Recovered, recovered)
	}
	if len(r.Messages) != n {
		t.Fatalf("%s: %d messages %+v, want %d", what, len(r.Messages), offsets(r.Messages), n)
	}
	for k, m := range r.Messages {
		w := msg(first + k)
		w.Offset = firstOffset + int64(k)
		if m.Offset != w.Offset || m.ID != w.ID || m.Op != w.Op || string(m.Body) != string(w.Body) || m.EnqueuedUnixNano != w.EnqueuedUnixNano {
			t.Fatalf("%s: message %d = %+v, want %+v", what, k, m, w)
		}
	}
}

func offsets(ms []history.Message) []int64 {
	o := make([]int64, len(ms))
	for i, m := range ms {
		o[i] = m.Offset
	}
	return o
}

func testOrder(t *testing.T, open Opener) {
	s := open(t, nil)
	const st = "user:7"
	last := appendN(t, s, st, hour, 1, 5)
	if last.Offset != 5 {
		t.Fatalf("offset after 5 appends = %d", last.Offset)
	}
	pos, err := s.Position(ctx(t), st)
	if err != nil || pos != last {
		t.Fatalf("Position = %+v, %v; want %+v", pos, err, last)
	}
	want(t, "from the start", since(t, s, st, "", 0, 100), true, 1, 5, 1)
	want(t, "after 2", since(t, s, st, last.Epoch, 2, 100), true, 3, 3, 3)
	want(t, "after 2, limit 2", since(t, s, st, last.Epoch, 2, 2), true, 3, 2, 3)
	want(t, "after the last", since(t, s, st, last.Epoch, 5, 100), true, 0, 0, 0)
	if r := since(t, s, st, last.Epoch, 5, 100); r.Pos != last {
		t.Errorf("Since Pos = %+v, want %+v", r.Pos, last)
	}
}

func testSeveralStreams(t *testing.T, open Opener) {
	s := open(t, nil)
	appendN(t, s, "room:live://1", hour, 1, 2)
	targets := []history.Target{{Stream: "user:1", Limits: hour}, {Stream: "room:live://1", Limits: hour}, {Stream: "user:2", Limits: hour}}
	pos, err := s.Append(ctx(t), targets, msg(3))
	if err != nil {
		t.Fatal(err)
	}
	got := []int64{pos[0].Offset, pos[1].Offset, pos[2].Offset}
	if !slices.Equal(got, []int64{1, 3, 1}) || pos[0].Stream != "user:1" || pos[1].Stream != "room:live://1" || pos[2].Stream != "user:2" {
		t.Fatalf("positions %+v, want offsets 1, 3, 1 in target order", pos)
	}
	if pos[0].Epoch == pos[2].Epoch {
		t.Errorf("two streams share epoch %q", pos[0].Epoch)
	}
	want(t, "user:2", since(t, s, "user:2", "", 0, 10), true, 3, 1, 1)
	if pos, err := s.Append(ctx(t), nil, msg(4)); err != nil || len(pos) != 0 {
		t.Errorf("Append to no stream = %+v, %v", pos, err)
	}
}

func testBoundBySize(t *testing.T, open Opener) {
	s := open(t, nil)
	const st = "room:live://1000"
	lim := history.Limits{Size: 3, TTL: time.Hour}
	last := appendN(t, s, st, lim, 1, 300)
	want(t, "from the start", since(t, s, st, "", 0, 100), false, 298, 3, 298)
	want(t, "gap larger than the history", since(t, s, st, last.Epoch, 296, 100), false, 298, 3, 298)
	want(t, "gap within the history", since(t, s, st, last.Epoch, 297, 100), true, 298, 3, 298)
	want(t, "not recovered, newest 2", since(t, s, st, last.Epoch, 1, 2), false, 299, 2, 299)
}

func testBoundByAge(t *testing.T, open Opener) {
	clock := NewFakeClock()
	s := open(t, clock.Now)
	const st = "user:9"
	appendN(t, s, st, hour, 1, 2)
	clock.Add(40 * time.Minute)
	last := appendN(t, s, st, hour, 3, 1)
	clock.Add(30 * time.Minute) // 1 and 2 are 70 min old, 3 is 30
	want(t, "after aging", since(t, s, st, last.Epoch, 0, 100), false, 3, 1, 3)
	want(t, "after 2", since(t, s, st, last.Epoch, 2, 100), true, 3, 1, 3)
	last = appendN(t, s, st, hour, 4, 1)
	if last.Offset != 4 {
		t.Errorf("offset after aging = %d, want 4", last.Offset)
	}
	want(t, "after 1", since(t, s, st, last.Epoch, 1, 100), false, 3, 2, 3)
}

func testExpiredStreamNewEpoch(t *testing.T, open Opener) {
	s := open(t, nil)
	const st = "room:chat://x"
	short := history.Limits{Size: 10, TTL: 50 * time.Millisecond}
	old := appendN(t, s, st, short, 1, 2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		pos, err := s.Position(ctx(t), st)
		if err != nil {
			t.Fatal(err)
		}
		if pos.Epoch == "" && pos.Offset == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream with ttl %v still at %+v after 10 s", short.TTL, pos)
		}
		time.Sleep(20 * time.Millisecond)
	}
	want(t, "old position after expiry", since(t, s, st, old.Epoch, old.Offset, 10), false, 0, 0, 0)
	pos := appendN(t, s, st, hour, 3, 1)
	if pos.Epoch == old.Epoch || pos.Offset != 1 {
		t.Fatalf("append after expiry = %+v, want offset 1 in a new epoch (old %q)", pos, old.Epoch)
	}
	want(t, "old position in the new epoch", since(t, s, st, old.Epoch, old.Offset, 10), false, 3, 1, 1)
}

func testOtherEpoch(t *testing.T, open Opener) {
	s := open(t, nil)
	const st = "user:3"
	appendN(t, s, st, hour, 1, 3)
	want(t, "unknown epoch", since(t, s, st, "bogus", 1, 2), false, 2, 2, 2)
}

func testFutureOffset(t *testing.T, open Opener) {
	s := open(t, nil)
	const st = "user:4"
	last := appendN(t, s, st, hour, 1, 3)
	want(t, "offset beyond the stream", since(t, s, st, last.Epoch, 9, 10), false, 1, 3, 1)
}

func testConcurrentAppends(t *testing.T, open Opener) {
	s := open(t, nil)
	const st, workers, each = "room:live://hot", 4, 50
	var mu sync.Mutex
	var got []int64
	var epochs = map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				pos, err := s.Append(context.Background(), []history.Target{{Stream: st, Limits: history.Limits{Size: 1000, TTL: time.Hour}}}, msg(i))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got = append(got, pos[0].Offset)
				epochs[pos[0].Epoch] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(got)
	for i, o := range got {
		if o != int64(i+1) {
			t.Fatalf("offsets %v: want 1..%d, each once", got, workers*each)
		}
	}
	if len(epochs) != 1 {
		t.Fatalf("epochs %v, want one", epochs)
	}
}

func testInvalid(t *testing.T, open Opener) {
	s := open(t, nil)
	bad := []history.Target{
		{Stream: "user:0", Limits: hour},
		{Stream: "room:nocolon", Limits: hour},
		{Stream: "chan:1", Limits: hour},
		{Stream: "user:1", Limits: history.Limits{}},
	}
	for _, tg := range bad {
		if _, err := s.Append(ctx(t), []history.Target{tg}, msg(1)); !errors.Is(err, history.ErrInvalid) {
			t.Errorf("Append(%+v) = %v, want ErrInvalid", tg, err)
		}
	}
	reads := []struct {
		stream, epoch string
		offset        int64
		limit         int
	}{
		{"user:x", "", 0, 1}, {"user:1", "", 3, 1}, {"user:1", "e", -1, 1}, {"user:1", "e", 1, 0},
	}
	for _, r := range reads {
		if _, err := s.Since(ctx(t), r.stream, r.epoch, r.offset, r.limit); !errors.Is(err, history.ErrInvalid) {
			t.Errorf("Since(%+v) = %v, want ErrInvalid", r, err)
		}
	}
	if _, err := s.Position(ctx(t), "room:"); !errors.Is(err, history.ErrInvalid) {
		t.Errorf("Position(room:) = %v, want ErrInvalid", err)
	}
}

func testEmpty(t *testing.T, open Opener) {
	s := open(t, nil)
	pos, err := s.Position(ctx(t), "user:42")
	if err != nil || pos != (history.Pos{Stream: "user:42"}) {
		t.Fatalf("Position of a new stream = %+v, %v", pos, err)
	}
	want(t, "new stream", since(t, s, "user:42", "", 0, 10), true, 0, 0, 0)
	want(t, "new stream, old epoch", since(t, s, "user:42", "gone", 3, 10), false, 0, 0, 0)
}

func tail(t *testing.T, s history.Store, stream, epoch string, offset int64, limit int) history.Range {
	t.Helper()
	r, err := s.Tail(ctx(t), stream, epoch, offset, limit)
	if err != nil {
		t.Fatalf("Tail(%s, %q, %d, %d): %v", stream, epoch, offset, limit, err)
	}
	return r
}

// testTail: Tail returns the newest messages after a position, and says
// when it left older ones out (Cut) as apart from lost ones (Recovered).
func testTail(t *testing.T, open Opener) {
	s := open(t, nil)
	const st, small = "room:live://tail", "room:live://small"
	last := appendN(t, s, st, hour, 1, 10)
	ep := last.Epoch
	smallLast := appendN(t, s, small, history.Limits{Size: 3, TTL: time.Hour}, 1, 10) // keeps 8..10
	cases := []struct {
		name      string
		stream    string
		epoch     string
		offset    int64
		limit     int
		recovered bool
		cut       bool
		first, n  int
	}{
		{"from the start, over the limit", st, "", 0, 3, true, true, 8, 3},
		{"after 2, over the limit", st, ep, 2, 4, true, true, 7, 4},
		{"after 7, within the limit", st, ep, 7, 5, true, false, 8, 3},
		{"exactly the limit", st, ep, 6, 4, true, false, 7, 4},
		{"up to date", st, ep, 10, 5, true, false, 0, 0},
		{"other epoch", st, "gone", 3, 2, false, false, 9, 2},
		{"beyond the stream", st, ep, 11, 2, false, false, 9, 2},
		{"gap larger than the history", small, smallLast.Epoch, 2, 2, false, false, 9, 2},
		{"gap within the history, over the limit", small, smallLast.Epoch, 7, 2, true, true, 9, 2},
	}
	for _, c := range cases {
		r := tail(t, s, c.stream, c.epoch, c.offset, c.limit)
		want(t, c.name, r, c.recovered, c.first, c.n, int64(c.first))
		if r.Cut != c.cut {
			t.Errorf("%s: cut = %v, want %v", c.name, r.Cut, c.cut)
		}
	}
	if r := tail(t, s, "user:404", "", 0, 5); !r.Recovered || r.Cut || len(r.Messages) != 0 || r.Pos != (history.Pos{Stream: "user:404"}) {
		t.Errorf("Tail of a stream never written = %+v", r)
	}
	if _, err := s.Tail(ctx(t), st, "", 3, 1); !errors.Is(err, history.ErrInvalid) {
		t.Errorf("Tail with an offset but no epoch = %v, want ErrInvalid", err)
	}
}

// testAck: the acknowledged position moves only forward, only in the
// stream's epoch and only up to its last message.
func testAck(t *testing.T, open Opener) {
	s := open(t, nil)
	const st = "user:55"
	if r, err := s.Ack(ctx(t), st, "none", 1); err != nil || r != history.AckOtherEpoch {
		t.Fatalf("Ack of a stream never written = %q, %v; want other_epoch", r, err)
	}
	last := appendN(t, s, st, hour, 1, 5)
	if p, ok, err := s.Acked(ctx(t), st); err != nil || ok || p != (history.Pos{Stream: st}) {
		t.Fatalf("Acked before any ack = %+v, %v, %v", p, ok, err)
	}
	steps := []struct {
		epoch  string
		offset int64
		want   history.AckResult
		acked  int64
	}{
		{last.Epoch, 3, history.AckAdvanced, 3},
		{last.Epoch, 2, history.AckStale, 3},
		{last.Epoch, 3, history.AckStale, 3},
		{"other", 4, history.AckOtherEpoch, 3},
		{last.Epoch, 6, history.AckBeyond, 3},
		{last.Epoch, 5, history.AckAdvanced, 5},
	}
	for i, c := range steps {
		r, err := s.Ack(ctx(t), st, c.epoch, c.offset)
		if err != nil || r != c.want {
			t.Fatalf("step %d: Ack(%q, %d) = %q, %v; want %q", i, c.epoch, c.offset, r, err, c.want)
		}
		p, ok, err := s.Acked(ctx(t), st)
		if err != nil || !ok || p != (history.Pos{Stream: st, Epoch: last.Epoch, Offset: c.acked}) {
			t.Fatalf("step %d: Acked = %+v, %v, %v; want offset %d", i, p, ok, err, c.acked)
		}
	}
	if p, _ := s.Position(ctx(t), st); p != last {
		t.Errorf("Position after acks = %+v, want %+v (acks append nothing)", p, last)
	}
	bad := []struct {
		stream, epoch string
		offset        int64
	}{{st, last.Epoch, 0}, {st, last.Epoch, -1}, {st, "", 1}, {"user:0", last.Epoch, 1}, {"nope", last.Epoch, 1}}
	for _, b := range bad {
		if _, err := s.Ack(ctx(t), b.stream, b.epoch, b.offset); !errors.Is(err, history.ErrInvalid) {
			t.Errorf("Ack(%+v) = %v, want ErrInvalid", b, err)
		}
	}
	if _, _, err := s.Acked(ctx(t), "room:"); !errors.Is(err, history.ErrInvalid) {
		t.Errorf("Acked(room:) = %v, want ErrInvalid", err)
	}
}

// testAckDroppedWithEpoch: an acknowledged position goes with its
// stream: after the stream expired, and in the epoch that follows, there
// is none.
func testAckDroppedWithEpoch(t *testing.T, open Opener) {
	s := open(t, nil)
	const st = "user:56"
	short := history.Limits{Size: 10, TTL: 50 * time.Millisecond}
	old := appendN(t, s, st, short, 1, 2)
	if r, err := s.Ack(ctx(t), st, old.Epoch, 2); err != nil || r != history.AckAdvanced {
		t.Fatalf("Ack = %q, %v", r, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ok, err := s.Acked(ctx(t), st)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ack of a stream with ttl %v still kept after 10 s", short.TTL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	pos := appendN(t, s, st, hour, 3, 1)
	if p, ok, err := s.Acked(ctx(t), st); err != nil || ok {
		t.Fatalf("Acked in the new epoch %q = %+v, %v, %v; want none", pos.Epoch, p, ok, err)
	}
	if r, err := s.Ack(ctx(t), st, old.Epoch, 1); err != nil || r != history.AckOtherEpoch {
		t.Errorf("Ack in the old epoch = %q, %v; want other_epoch", r, err)
	}
}
