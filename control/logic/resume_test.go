package logic

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/logic/history"
	histmem "github.com/goim-edge/goim-edge/control/logic/history/memory"
	"github.com/goim-edge/goim-edge/control/logic/history/redisstream"
	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	logicrpc "github.com/goim-edge/goim-edge/kitex_gen/logic"
	logicsvc "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/registry"
)

// recoverOn keeps 10 messages per user and live room, and recovers at
// most 4 messages and 1000 bytes of bodies per stream.
func recoverOn(c *Config) {
	historyOn(c)
	c.History.RecoverLimit = 4
	c.History.RecoverMaxBytes = 1000
}

// countingReads is a real history store that counts the reads resumes
// make, to show what coalescing saves.
type countingReads struct {
	history.Store
	tails, acked atomic.Int64
}

func (c *countingReads) Tail(ctx context.Context, stream, epoch string, offset int64, limit int) (history.Range, error) {
	c.tails.Add(1)
	return c.Store.Tail(ctx, stream, epoch, offset, limit)
}

func (c *countingReads) Acked(ctx context.Context, stream string) (history.Pos, bool, error) {
	c.acked.Add(1)
	return c.Store.Acked(ctx, stream)
}

// pushRoom pushes n bodies of size bytes to room type://id and returns the
// last position.
func pushRoom(t testing.TB, l *Logic, typ, id string, n, size int) history.Pos {
	t.Helper()
	var last history.Pos
	for i := 0; i < n; i++ {
		body := []byte(fmt.Sprintf("%s-%d", id, i))
		if size > len(body) {
			body = append(body, make([]byte, size-len(body))...)
		}
		e, err := l.EnqueueRoomAt(context.Background(), 1000, typ, id, body)
		if err != nil {
			t.Fatal(err)
		}
		last = e.Positions[0]
	}
	return last
}

// pushMid pushes n messages to user mid and returns the last position.
func pushMid(t testing.TB, l *Logic, mid int64, n int) history.Pos {
	t.Helper()
	var last history.Pos
	for i := 0; i < n; i++ {
		e, err := l.EnqueueMidsAt(context.Background(), 1000, []int64{mid}, []byte(fmt.Sprintf("u%d-%d", mid, i)))
		if err != nil {
			t.Fatal(err)
		}
		last = e.Positions[0]
	}
	return last
}

// memHistory is a memory history store closed at the test's end.
func memHistory(t testing.TB) history.Store {
	s := histmem.New(nil)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sp(stream, epoch string, offset int64) *common.StreamPos {
	return &common.StreamPos{Stream: stream, Epoch: epoch, Offset: offset}
}

// verdictWant is one stream's expected verdict.
type verdictWant struct {
	recovered bool
	reason    string
	offsets   []int64 // of the recovered messages
	pos       int64   // the position's offset
}

func checkVerdict(t *testing.T, what string, got *logicrpc.ResumedStream, ep string, w verdictWant) {
	t.Helper()
	var offs []int64
	for _, m := range got.Messages {
		offs = append(offs, m.Offset)
	}
	if got.Recovered != w.recovered || got.Reason != w.reason || fmt.Sprint(offs) != fmt.Sprint(w.offsets) || got.Position.Offset != w.pos {
		t.Errorf("%s: recovered %v reason %q offsets %v position %d; want %v %q %v %d",
			what, got.Recovered, got.Reason, offs, got.Position.Offset, w.recovered, w.reason, w.offsets, w.pos)
	}
	if ep != "" && got.Position.Epoch != ep {
		t.Errorf("%s: position epoch %q, want %q", what, got.Position.Epoch, ep)
	}
}

func offsets(from, to int64) []int64 {
	var o []int64
	for i := from; i <= to; i++ {
		o = append(o, i)
	}
	return o
}

// TestResume is every verdict of Resume, on the memory store and on a
// real Redis.
func TestResume(t *testing.T) {
	for name, hs := range historyKinds(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, logictest.MemoryStore(t), recoverOn, withHistory(hs))
			h.discard.Store(true)
			few := pushRoom(t, h.l, "live", "few", 3, 10)     // 1..3
			many := pushRoom(t, h.l, "live", "many", 10, 10)  // 1..10
			lost := pushRoom(t, h.l, "live", "lost", 15, 10)  // keeps 6..15
			big := pushRoom(t, h.l, "live", "big", 4, 300)    // 300-byte bodies
			huge := pushRoom(t, h.l, "live", "huge", 1, 2000) // larger than recover_max_bytes
			user := pushMid(t, h.l, 1, 3)                     // user:1 at 3
			cases := []struct {
				name string
				mid  int64
				pos  *common.StreamPos
				ep   string
				want verdictWant
			}{
				{"recovered", 1, sp("room:live://few", few.Epoch, 1), few.Epoch, verdictWant{true, "", offsets(2, 3), 3}},
				{"up to date", 1, sp("room:live://few", few.Epoch, 3), few.Epoch, verdictWant{true, "", nil, 3}},
				{"everything kept", 1, sp("room:live://few", "", 0), few.Epoch, verdictWant{true, "", offsets(1, 3), 3}},
				{"limit: the newest that fit", 1, sp("room:live://many", many.Epoch, 2), many.Epoch, verdictWant{false, "limit", offsets(7, 10), 10}},
				{"exactly the limit", 1, sp("room:live://many", many.Epoch, 6), many.Epoch, verdictWant{true, "", offsets(7, 10), 10}},
				{"limit by bytes", 1, sp("room:live://big", big.Epoch, 0), big.Epoch, verdictWant{false, "limit", offsets(2, 4), 4}},
				{"a body over the byte bound", 1, sp("room:live://huge", huge.Epoch, 0), huge.Epoch, verdictWant{false, "limit", nil, 1}},
				{"gap", 1, sp("room:live://lost", lost.Epoch, 3), lost.Epoch, verdictWant{false, "gap", offsets(12, 15), 15}},
				{"gap within the history", 1, sp("room:live://lost", lost.Epoch, 11), lost.Epoch, verdictWant{true, "", offsets(12, 15), 15}},
				{"other epoch", 1, sp("room:live://few", "gone", 2), few.Epoch, verdictWant{false, "epoch", offsets(1, 3), 3}},
				{"beyond the stream", 1, sp("room:live://few", few.Epoch, 9), few.Epoch, verdictWant{false, "epoch", offsets(1, 3), 3}},
				{"stream with nothing kept", 1, sp("room:live://none", "old", 5), "", verdictWant{false, "epoch", nil, 0}},
				{"own user stream", 1, sp("user:1", user.Epoch, 1), user.Epoch, verdictWant{true, "", offsets(2, 3), 3}},
				{"offset without epoch: everything", 1, sp("user:1", "", 2), user.Epoch, verdictWant{true, "", offsets(1, 3), 3}},
				{"no history: room type", 1, sp("room:chat://1", "", 0), "", verdictWant{false, "no_history", nil, 0}},
				{"not followed: another user", 1, sp("user:2", "", 0), "", verdictWant{false, "not_followed", nil, 0}},
				{"not followed: mid 0", 0, sp("user:1", "", 0), "", verdictWant{false, "not_followed", nil, 0}},
				{"not followed: malformed", 1, sp("nope", "", 0), "", verdictWant{false, "not_followed", nil, 0}},
				{"not followed: user 0", 0, sp("user:0", "", 0), "", verdictWant{false, "not_followed", nil, 0}},
			}
			for _, c := range cases {
				resp, err := h.l.Resume(context.Background(), &logicrpc.ResumeReq{Mid: c.mid, Server: "edge-a", Streams: []*common.StreamPos{c.pos}})
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if len(resp.Streams) != 1 || resp.Streams[0].Position.Stream != c.pos.Stream {
					t.Fatalf("%s: %+v", c.name, resp)
				}
				checkVerdict(t, c.name, resp.Streams[0], c.ep, c.want)
			}
			// Input an edge never sends is answered, not a panic.
			if resp, err := h.l.Resume(context.Background(), &logicrpc.ResumeReq{Mid: 1, Streams: []*common.StreamPos{nil}}); err != nil || resp.Streams[0].Reason != "not_followed" {
				t.Errorf("Resume of a nil stream = %+v, %v; want not_followed", resp, err)
			}
			if _, err := h.l.Resume(context.Background(), nil); err == nil {
				t.Error("Resume(nil): no error")
			}
			if r, err := h.l.Ack(context.Background(), nil); err != nil || r.Result_ != "invalid" {
				t.Errorf("Ack(nil) = %+v, %v; want invalid", r, err)
			}
			// Several streams: verdicts in request order, bodies intact.
			resp, err := h.l.Resume(context.Background(), &logicrpc.ResumeReq{Mid: 1, Streams: []*common.StreamPos{
				sp("room:chat://1", "", 0), sp("user:1", user.Epoch, 2), sp("room:live://few", few.Epoch, 2),
			}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range resp.Streams {
				got = append(got, s.Position.Stream)
			}
			if strings.Join(got, " ") != "room:chat://1 user:1 room:live://few" {
				t.Fatalf("verdict order %v", got)
			}
			if m := resp.Streams[2].Messages; len(m) != 1 || !strings.HasPrefix(string(m[0].Body), "few-2") || m[0].Op != 1000 || m[0].Id == "" {
				t.Errorf("recovered message %+v, want few-2", m)
			}
		})
	}
}

// TestResumeFromAcked: a device resuming its user stream without a
// position starts from the user's acknowledged position; with no ack, from
// everything kept.
func TestResumeFromAcked(t *testing.T) {
	for name, hs := range historyKinds(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, logictest.MemoryStore(t), recoverOn, withHistory(hs))
			h.discard.Store(true)
			acked := pushMid(t, h.l, 5, 3)
			pushMid(t, h.l, 6, 2)
			if r, err := h.l.Ack(context.Background(), &logicrpc.AckReq{Mid: 5, Epoch: acked.Epoch, Offset: 1}); err != nil || r.Result_ != "advanced" {
				t.Fatalf("Ack = %+v, %v", r, err)
			}
			cases := []struct {
				name string
				mid  int64
				want verdictWant
			}{
				{"after the acked position", 5, verdictWant{true, "", offsets(2, 3), 3}},
				{"no ack: everything kept", 6, verdictWant{true, "", offsets(1, 2), 2}},
			}
			for _, c := range cases {
				resp, err := h.l.Resume(context.Background(), &logicrpc.ResumeReq{Mid: c.mid, Streams: []*common.StreamPos{sp(history.UserStream(c.mid), "", 0)}})
				if err != nil {
					t.Fatal(err)
				}
				checkVerdict(t, c.name, resp.Streams[0], "", c.want)
			}
		})
	}
}

// TestAck is every result of Ack, on the memory store and on a real Redis.
func TestAck(t *testing.T) {
	for name, hs := range historyKinds(t) {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, logictest.MemoryStore(t), recoverOn, withHistory(hs))
			h.discard.Store(true)
			last := pushMid(t, h.l, 9, 5)
			ep := last.Epoch
			steps := []struct {
				mid    int64
				epoch  string
				offset int64
				want   string
			}{
				{9, ep, 2, "advanced"},
				{9, ep, 2, "stale"},
				{9, ep, 1, "stale"},
				{9, "other", 4, "other_epoch"},
				{9, ep, 6, "beyond"},
				{9, ep, 5, "advanced"},
				{10, ep, 1, "other_epoch"}, // a user without a stream
				{0, ep, 1, "invalid"},
				{9, "", 1, "invalid"},
				{9, ep, 0, "invalid"},
				{9, ep, -3, "invalid"},
			}
			for i, s := range steps {
				r, err := h.l.Ack(context.Background(), &logicrpc.AckReq{Mid: s.mid, Epoch: s.epoch, Offset: s.offset})
				if err != nil || r.Result_ != s.want {
					t.Errorf("step %d: Ack(%d, %q, %d) = %+v, %v; want %s", i, s.mid, s.epoch, s.offset, r, err, s.want)
				}
			}
			pos, ok, err := h.l.StreamAcked(context.Background(), "user:9")
			if err != nil || !ok || pos.Offset != 5 || pos.Epoch != ep {
				t.Errorf("StreamAcked = %+v, %v, %v; want 5", pos, ok, err)
			}
		})
	}
}

// TestAckNoHistory: with user history off an ack is answered no_history
// and costs no store call.
func TestAckNoHistory(t *testing.T) {
	hs := &countingReads{Store: histmem.New(nil)}
	defer hs.Close()
	rooms := func(c *Config) { c.History.Rooms = []history.RoomLimits{{Type: "live", Size: 10, TTL: time.Hour}} }
	h := newHarness(t, logictest.MemoryStore(t), rooms, withHistory(hs))
	r, err := h.l.Ack(context.Background(), &logicrpc.AckReq{Mid: 1, Epoch: "e", Offset: 1})
	if err != nil || r.Result_ != "no_history" {
		t.Fatalf("Ack with user history off = %+v, %v", r, err)
	}
	resp, err := h.l.Resume(context.Background(), &logicrpc.ResumeReq{Mid: 1, Streams: []*common.StreamPos{sp("user:1", "", 0)}})
	if err != nil || resp.Streams[0].Reason != "no_history" {
		t.Fatalf("Resume of user:1 with user history off = %+v, %v", resp, err)
	}
	if hs.tails.Load()+hs.acked.Load() != 0 {
		t.Fatalf("%d store reads for targets without history", hs.tails.Load()+hs.acked.Load())
	}
}

// TestResumeAfterFlushAll: Redis lost its data (FLUSHALL): a device at an
// old position gets verdict epoch and what the new epoch holds; the old
// acknowledged position is gone with it.
func TestResumeAfterFlushAll(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := redisstore.DefaultConfig()
	cfg.Addr = srv.Addr
	hs, err := redisstream.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	h := newHarness(t, logictest.MemoryStore(t), recoverOn, withHistory(hs))
	h.discard.Store(true)
	ctx := context.Background()
	oldRoom := pushRoom(t, h.l, "live", "1", 3, 10)
	oldUser := pushMid(t, h.l, 1, 3)
	if r, err := h.l.Ack(ctx, &logicrpc.AckReq{Mid: 1, Epoch: oldUser.Epoch, Offset: 3}); err != nil || r.Result_ != "advanced" {
		t.Fatalf("Ack = %+v, %v", r, err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	newRoom := pushRoom(t, h.l, "live", "1", 2, 10)
	newUser := pushMid(t, h.l, 1, 2)
	if newRoom.Epoch == oldRoom.Epoch || newUser.Epoch == oldUser.Epoch {
		t.Fatal("FLUSHALL kept the epochs")
	}
	resp, err := h.l.Resume(ctx, &logicrpc.ResumeReq{Mid: 1, Streams: []*common.StreamPos{
		sp("room:live://1", oldRoom.Epoch, 3), sp("user:1", oldUser.Epoch, 3), sp("user:1", "", 0),
	}})
	if err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, "room at the old epoch", resp.Streams[0], newRoom.Epoch, verdictWant{false, "epoch", offsets(1, 2), 2})
	checkVerdict(t, "user at the old epoch", resp.Streams[1], newUser.Epoch, verdictWant{false, "epoch", offsets(1, 2), 2})
	checkVerdict(t, "user without a position (old ack gone)", resp.Streams[2], newUser.Epoch, verdictWant{true, "", offsets(1, 2), 2})
}

// TestResumeOutage: a store that does not answer fails the call (the
// edge tells the device "unavailable"), and Ack likewise; once it is
// back, both work again.
func TestResumeOutage(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := redisstore.DefaultConfig()
	cfg.Addr = srv.Addr
	hs, err := redisstream.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Close()
	short := func(c *Config) { recoverOn(c); c.CallTimeout = 500 * time.Millisecond }
	h := newHarness(t, logictest.MemoryStore(t), short, withHistory(hs))
	h.discard.Store(true)
	last := pushRoom(t, h.l, "live", "1", 2, 10)
	req := &logicrpc.ResumeReq{Mid: 1, Streams: []*common.StreamPos{sp("room:live://1", last.Epoch, 1)}}
	srv.Stop()
	if _, err := h.l.Resume(context.Background(), req); err == nil {
		t.Fatal("Resume with Redis down: no error")
	}
	if _, err := h.l.Ack(context.Background(), &logicrpc.AckReq{Mid: 1, Epoch: "e", Offset: 1}); err == nil {
		t.Fatal("Ack with Redis down: no error")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := h.l.Resume(context.Background(), req)
		if err == nil {
			// Redis restarted empty: the history is gone.
			checkVerdict(t, "after the outage", resp.Streams[0], "", verdictWant{false, "epoch", nil, 0})
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Resume after Redis came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestResumeCoalesced: a reconnect storm of one room's devices, all at
// one position, costs a handful of store reads, and every device gets
// every message.
func TestResumeCoalesced(t *testing.T) {
	hs := &countingReads{Store: histmem.New(nil)}
	defer hs.Close()
	storm := func(c *Config) { historyOn(c); c.History.Rooms[0].Size = 100 }
	h := newHarness(t, logictest.MemoryStore(t), storm, withHistory(hs))
	h.discard.Store(true)
	last := pushRoom(t, h.l, "live", "storm", 100, 64)
	const devices = 10000
	start := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := 0; i < devices; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := h.l.Resume(context.Background(), &logicrpc.ResumeReq{Mid: int64(i + 1), Streams: []*common.StreamPos{sp("room:live://storm", last.Epoch, 0)}})
			if err != nil || !resp.Streams[0].Recovered || len(resp.Streams[0].Messages) != 100 || resp.Streams[0].Position.Offset != 100 {
				bad.Add(1)
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of %d resumes did not recover the 100 messages", n, devices)
	}
	// The guarantee: reads of one key begin at least resumeHold apart, so
	// at most 1 + took/resumeHold reads (one more of slack).
	reads := hs.tails.Load()
	bound := 2 + int64(took/resumeHold)
	t.Logf("%d resumes in %v: %d store reads (bound %d)", devices, took.Round(time.Millisecond), reads, bound)
	if reads > bound {
		t.Fatalf("%d store reads for %d identical resumes in %v, want at most %d", reads, devices, took, bound)
	}
}

// gatedTail holds the first Tail's answer, read at once, until release is
// closed: a read that began and has not ended.
type gatedTail struct {
	history.Store
	began   chan struct{}
	release chan struct{}
	first   atomic.Bool
}

func (g *gatedTail) Tail(ctx context.Context, stream, epoch string, offset int64, limit int) (history.Range, error) {
	r, err := g.Store.Tail(ctx, stream, epoch, offset, limit)
	if g.first.CompareAndSwap(false, true) {
		close(g.began)
		<-g.release
	}
	return r, err
}

// TestResumeJoinsNoStartedRead: a resume never shares a read that began
// before it arrived; such a read may predate a message the device missed
// (appended, and delivered to the edge before the connection was
// positioned). The later resume waits for the next read and gets it.
func TestResumeJoinsNoStartedRead(t *testing.T) {
	hs := &gatedTail{Store: histmem.New(nil), began: make(chan struct{}), release: make(chan struct{})}
	defer hs.Close()
	h := newHarness(t, logictest.MemoryStore(t), recoverOn, withHistory(hs))
	h.discard.Store(true)
	last := pushRoom(t, h.l, "live", "1", 1, 10)
	req := &logicrpc.ResumeReq{Mid: 1, Streams: []*common.StreamPos{sp("room:live://1", last.Epoch, 0)}}
	type result struct {
		resp *logicrpc.ResumeResp
		err  error
	}
	first, second := make(chan result, 1), make(chan result, 1)
	go func() { r, err := h.l.Resume(context.Background(), req); first <- result{r, err} }()
	<-hs.began
	pushRoom(t, h.l, "live", "1", 1, 10) // offset 2, after the first read's snapshot
	go func() { r, err := h.l.Resume(context.Background(), req); second <- result{r, err} }()
	// Wait until the second resume holds its place in the coalescer.
	deadline := time.Now().Add(10 * time.Second)
	for h.l.resumeReads.users(coalesceKey("room:live://1", last.Epoch, 0, 4)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("second resume never reached the coalescer")
		}
		time.Sleep(time.Millisecond)
	}
	close(hs.release)
	a, b := <-first, <-second
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if n := len(a.resp.Streams[0].Messages); n != 1 {
		t.Errorf("first resume: %d messages, want 1 (read before the second push)", n)
	}
	if n := len(b.resp.Streams[0].Messages); n != 2 || b.resp.Streams[0].Position.Offset != 2 {
		t.Errorf("second resume: %d messages at %d, want 2 at 2: it shared a read that began before it", n, b.resp.Streams[0].Position.Offset)
	}
}

// TestResumeMetrics: recoveries count by result, recovered messages, and
// acks by result.
func TestResumeMetrics(t *testing.T) {
	h := newHarness(t, logictest.MemoryStore(t), recoverOn, withHistory(memHistory(t)))
	h.discard.Store(true)
	last := pushRoom(t, h.l, "live", "m", 3, 10)
	before := map[string]float64{}
	names := []string{"recovered", "limit", "no_history", "not_followed"}
	for _, r := range names {
		before[r] = value(t, history.RecoveriesTotal.WithLabelValues(r))
	}
	msgs := value(t, history.RecoveredMessagesTotal)
	advanced, invalid := value(t, history.AcksTotal.WithLabelValues("advanced")), value(t, history.AcksTotal.WithLabelValues("invalid"))
	if _, err := h.l.Resume(context.Background(), &logicrpc.ResumeReq{Mid: 1, Streams: []*common.StreamPos{
		sp("room:live://m", last.Epoch, 1), sp("room:chat://1", "", 0), sp("user:2", "", 0),
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.l.Ack(context.Background(), &logicrpc.AckReq{Mid: 0}); err != nil {
		t.Fatal(err)
	}
	pushMid(t, h.l, 1, 1)
	p, _ := h.l.StreamPosition(context.Background(), "user:1")
	if _, err := h.l.Ack(context.Background(), &logicrpc.AckReq{Mid: 1, Epoch: p.Epoch, Offset: 1}); err != nil {
		t.Fatal(err)
	}
	for r, want := range map[string]float64{"recovered": 1, "limit": 0, "no_history": 1, "not_followed": 1} {
		if d := value(t, history.RecoveriesTotal.WithLabelValues(r)) - before[r]; d != want {
			t.Errorf("recoveries{%s} +%v, want +%v", r, d, want)
		}
	}
	if d := value(t, history.RecoveredMessagesTotal) - msgs; d != 2 {
		t.Errorf("recovered messages +%v, want +2", d)
	}
	if d := value(t, history.AcksTotal.WithLabelValues("advanced")) - advanced; d != 1 {
		t.Errorf("acks{advanced} +%v, want +1", d)
	}
	if d := value(t, history.AcksTotal.WithLabelValues("invalid")) - invalid; d != 1 {
		t.Errorf("acks{invalid} +%v, want +1", d)
	}
}

// TestResumeTooManyStreams: more streams than any edge sends is refused
// before a store read.
func TestResumeTooManyStreams(t *testing.T) {
	hs := &countingReads{Store: histmem.New(nil)}
	defer hs.Close()
	h := newHarness(t, logictest.MemoryStore(t), recoverOn, withHistory(hs))
	streams := make([]*common.StreamPos, MaxResumeStreams+1)
	for i := range streams {
		streams[i] = sp("room:live://"+fmt.Sprint(i), "", 0)
	}
	if _, err := h.l.Resume(context.Background(), &logicrpc.ResumeReq{Mid: 1, Streams: streams}); err == nil {
		t.Fatal("Resume of too many streams: no error")
	}
	if n := hs.tails.Load(); n != 0 {
		t.Fatalf("%d store reads for a refused resume", n)
	}
}

// benchKinds are the stores the resume benchmarks run on.
func benchKinds(b *testing.B) []struct {
	name string
	hs   *countingReads
} {
	kinds := historyKinds(b)
	return []struct {
		name string
		hs   *countingReads
	}{{"memory", &countingReads{Store: kinds["memory"]}}, {"redis", &countingReads{Store: kinds["redis"]}}}
}

// BenchmarkResume is one device resuming a room stream it missed 100
// messages of (64-byte bodies): the store read and its conversion. The
// hold between reads of one key (resumeHold) is off: it would make this
// serial loop measure 5 ms waits, and a lone device never meets it.
//
//	go test -run '^$' -bench 'Resume$' -benchtime 2000x ./control/logic/
func BenchmarkResume(b *testing.B) {
	for _, k := range benchKinds(b) {
		b.Run(k.name, func(b *testing.B) {
			h := newHarness(b, logictest.MemoryStore(b), func(c *Config) { historyOn(c); c.History.Rooms[0].Size = 100 }, withHistory(k.hs))
			h.discard.Store(true)
			h.l.resumeReads.hold = 0
			last := pushRoom(b, h.l, "live", "bench", 100, 64)
			req := &logicrpc.ResumeReq{Mid: 1, Streams: []*common.StreamPos{sp("room:live://bench", last.Epoch, 0)}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := h.l.Resume(ctx, req)
				if err != nil || len(resp.Streams[0].Messages) != 100 {
					b.Fatal(resp, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resumes/s")
		})
	}
}

// BenchmarkResumeStorm is many devices of one room resuming at once from
// the same position (a reconnect storm): 64 goroutines per core, each
// resuming the room's 100 messages. reads/op is store reads per resume.
//
//	go test -run '^$' -bench ResumeStorm -benchtime 20000x ./control/logic/
func BenchmarkResumeStorm(b *testing.B) {
	for _, k := range benchKinds(b) {
		b.Run(k.name, func(b *testing.B) {
			h := newHarness(b, logictest.MemoryStore(b), func(c *Config) { historyOn(c); c.History.Rooms[0].Size = 100 }, withHistory(k.hs))
			h.discard.Store(true)
			last := pushRoom(b, h.l, "live", "storm", 100, 64)
			req := &logicrpc.ResumeReq{Mid: 1, Streams: []*common.StreamPos{sp("room:live://storm", last.Epoch, 0)}}
			reads := k.hs.tails.Load()
			b.ReportAllocs()
			b.SetParallelism(64)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := h.l.Resume(context.Background(), req)
					if err != nil || len(resp.Streams[0].Messages) != 100 {
						b.Error(resp, err)
						return
					}
				}
			})
			b.ReportMetric(float64(k.hs.tails.Load()-reads)/float64(b.N), "reads/op")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resumes/s")
		})
	}
}

// BenchmarkAck is a device acknowledging its user stream (one script call
// on Redis): the offsets cycle through the stream, so acks advance and go
// stale in turn.
//
//	go test -run '^$' -bench 'Ack$' -benchtime 5000x ./control/logic/
func BenchmarkAck(b *testing.B) {
	for _, k := range benchKinds(b) {
		b.Run(k.name, func(b *testing.B) {
			h := newHarness(b, logictest.MemoryStore(b), historyOn, withHistory(k.hs))
			h.discard.Store(true)
			ctx := context.Background()
			last := pushMid(b, h.l, 1, 10)
			var off int64
			b.ReportAllocs()
			for b.Loop() {
				off = off%last.Offset + 1
				if _, err := h.l.Ack(ctx, &logicrpc.AckReq{Mid: 1, Epoch: last.Epoch, Offset: off}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acks/s")
		})
	}
}

// TestResumeOverKitex: Resume and Ack over a real Kitex server and client,
// as an edge in a cluster calls them.
func TestResumeOverKitex(t *testing.T) {
	h := newHarness(t, logictest.MemoryStore(t), recoverOn, withHistory(memHistory(t)))
	h.discard.Store(true)
	last := pushMid(t, h.l, 3, 3)
	cli, err := logicsvc.NewClient(registry.ServiceLogic, client.WithHostPorts(serveKitex(t, h.l)), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ack, err := cli.Ack(ctx, &logicrpc.AckReq{Mid: 3, Key: "k3", Server: "edge-a", Epoch: last.Epoch, Offset: 1})
	if err != nil || ack.Result_ != "advanced" {
		t.Fatalf("Ack = %+v, %v", ack, err)
	}
	resp, err := cli.Resume(ctx, &logicrpc.ResumeReq{Mid: 3, Key: "k3", Server: "edge-a", Streams: []*common.StreamPos{sp("user:3", "", 0), sp("room:chat://1", "", 0)}})
	if err != nil || len(resp.Streams) != 2 {
		t.Fatalf("Resume = %+v, %v", resp, err)
	}
	checkVerdict(t, "user:3 from its ack", resp.Streams[0], last.Epoch, verdictWant{true, "", offsets(2, 3), 3})
	checkVerdict(t, "room without history", resp.Streams[1], "", verdictWant{false, "no_history", nil, 0})
	if b := resp.Streams[0].Messages[1].Body; string(b) != "u3-2" {
		t.Errorf("body over Kitex = %q, want u3-2", b)
	}
}

// FuzzResume: whatever stream and position an edge forwards, Resume
// answers one verdict for it without an error (the store is up) and
// without a panic, and a recovered verdict has no reason.
//
//	go test -run '^$' -fuzz FuzzResume -fuzztime 30s ./control/logic/
func FuzzResume(f *testing.F) {
	h := newHarness(f, logictest.MemoryStore(f), recoverOn, withHistory(memHistory(f)))
	h.discard.Store(true)
	last := pushRoom(f, h.l, "live", "1", 6, 10)
	pushMid(f, h.l, 1, 2)
	for _, s := range []struct {
		mid           int64
		stream, epoch string
		offset        int64
	}{
		{1, "room:live://1", last.Epoch, 2}, {1, "room:live://1", "", 0}, {1, "user:1", "", 0},
		{1, "user:2", "", 0}, {0, "user:0", "x", -1}, {1, "room:live://", "", 0}, {1, "room:chat://1", "e", 1 << 62},
		{-1, "user:-1", "", 0}, {1, "", "", 0}, {1, "room:live://1", last.Epoch, -5},
	} {
		f.Add(s.mid, s.stream, s.epoch, s.offset)
	}
	f.Fuzz(func(t *testing.T, mid int64, stream, epoch string, offset int64) {
		resp, err := h.l.Resume(context.Background(), &logicrpc.ResumeReq{Mid: mid, Streams: []*common.StreamPos{sp(stream, epoch, offset)}})
		if err != nil {
			t.Fatalf("Resume(%d, %q, %q, %d): %v", mid, stream, epoch, offset, err)
		}
		v := resp.Streams[0]
		if len(resp.Streams) != 1 || v.Position == nil || v.Position.Stream != stream || (v.Recovered && v.Reason != "") || (!v.Recovered && v.Reason == "") {
			t.Fatalf("Resume(%d, %q, %q, %d) = %+v", mid, stream, epoch, offset, resp)
		}
	})
}
