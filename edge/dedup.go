package edge

import (
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
)

// Why the edge drops duplicates: job delivers at least once. A push RPC
// that timed out is retried (the edge may have taken the first attempt),
// and a queue message whose job died mid fan-out is delivered again, to
// every edge, by the job that takes it over. Remembering the message ids
// it delivered for DedupWindow lets the edge make both invisible to
// devices. Ids are remembered only once a push passed validation (a
// refused push was not delivered and may come back corrected). Pushes
// without a message id (callers other than job) are never dropped.

var dupesDropped = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "goim_edge_duplicate_pushes_total",
	Help: "Pushes dropped because their message id was delivered within dedup_window (job retries and queue redeliveries), by kind.",
}, []string{"kind"})

var dedupEarlyRotations = promauto.NewCounter(prometheus.CounterOpts{
	Name: "goim_edge_dedup_early_rotations_total",
	Help: "Times the duplicate filter forgot ids younger than dedup_window because dedup_max_ids was reached (raise it if this grows).",
})

// dedupShards spreads the filter's lock; job calls PushKeys from many
// lanes at once.
const dedupShards = 16

// dedup remembers recent message ids. Each shard keeps two generations of
// 64-bit hashes (seeded per process): an id lives in the current one until
// it is DedupWindow old, then in the previous one for another window, so
// an id is remembered at least DedupWindow and at most twice that. A
// generation that reaches its share of DedupMaxIDs is rotated early (the
// window shrinks under a flood, memory does not grow). Two different ids
// collide with probability ~n²/2⁶⁵ for n remembered ids (below 10⁻⁷ at a
// million), which would drop one push.
type dedup struct {
	window   int64 // nanoseconds
	maxShard int   // entries per generation per shard
	seed     maphash.Seed
	shards   [dedupShards]dedupShard
	now      func() int64
	// clockMask: a shard reads the clock once per clockMask+1 calls. The
	// clock is a good part of the filter's cost, and reading it less
	// often only rotates later: ids are remembered longer, never shorter
	// (memory stays bounded by DedupMaxIDs).
	clockMask uint32
}

type dedupShard struct {
	mu        sync.Mutex
	cur, prev map[uint64]struct{}
	since     int64 // when cur started, unix nanoseconds
	calls     uint32
	_         [36]byte
}

// newDedup returns a filter for window, or nil when window is 0 (off).
func newDedup(window time.Duration, maxIDs int) *dedup {
	if window <= 0 {
		return nil
	}
	d := &dedup{
		window:   int64(window),
		maxShard: max(1, maxIDs/dedupShards),
		seed:     maphash.MakeSeed(),
		now:      func() int64 { return time.Now().UnixNano() },
		// 16 calls per shard, 256 pushes over all shards: at any rate
		// where that is a noticeable part of a window, memory is what
		// bounds the filter.
		clockMask: 15,
	}
	for i := range d.shards {
		d.shards[i].cur = map[uint64]struct{}{}
		d.shards[i].prev = map[uint64]struct{}{}
	}
	return d
}

// seen reports whether id was delivered within the window, and remembers
// it if not. An empty id is never seen.
func (d *dedup) seen(id string) bool {
	if d == nil || id == "" {
		return false
	}
	h := maphash.String(d.seed, id)
	s := &d.shards[h%dedupShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls&d.clockMask == 0 {
		// prev holds ids remembered before cur started: once cur is a
		// window old they are too, and can go.
		if now := d.now(); now-s.since >= d.window {
			s.rotate(now)
		}
	}
	s.calls++
	if _, ok := s.cur[h]; ok {
		return true
	}
	if _, ok := s.prev[h]; ok {
		return true
	}
	if len(s.cur) >= d.maxShard {
		dedupEarlyRotations.Inc()
		s.rotate(s.since) // early: cur's clock keeps running
	}
	s.cur[h] = struct{}{}
	return false
}

// rotate makes cur the previous generation; callers hold s.mu.
func (s *dedupShard) rotate(now int64) {
	old := s.prev
	clear(old)
	s.prev, s.cur, s.since = s.cur, old, now
}

// freshRoomMsgs is msgs without the ones already delivered (the slice is
// reused when nothing is dropped).
func (d *dedup) freshRoomMsgs(msgs []*edge.RoomMsg) []*edge.RoomMsg {
	if d == nil {
		return msgs
	}
	out := msgs[:0:0]
	dropped := 0
	for i, m := range msgs {
		if d.seen(m.MsgId) {
			if dropped == 0 {
				out = append(out, msgs[:i]...)
			}
			dropped++
			continue
		}
		if dropped > 0 {
			out = append(out, m)
		}
	}
	if dropped == 0 {
		return msgs
	}
	dupesDropped.WithLabelValues("room").Add(float64(dropped))
	return out
}

// duplicate reports (and counts) a keys or broadcast push already
// delivered.
func (d *dedup) duplicate(kind, id string) bool {
	if !d.seen(id) {
		return false
	}
	dupesDropped.WithLabelValues(kind).Inc()
	return true
}

// dedupErrors validates the duplicate filter's settings.
func (c Config) dedupErrors() []error {
	var errs []error
	if c.DedupWindow < 0 {
		errs = append(errs, fmt.Errorf("dedup_window %v must not be negative (0: off)", c.DedupWindow))
	}
	if c.DedupWindow > 0 && c.DedupMaxIDs < dedupShards {
		errs = append(errs, fmt.Errorf("dedup_max_ids %d must be at least %d", c.DedupMaxIDs, dedupShards))
	}
	return errs
}

// dedupe is the handler's duplicate filter, made on first use from the
// server's config (nil when off).
func (h *Handler) dedupe() *dedup {
	h.dedupOnce.Do(func() { h.dedup = newDedup(h.srv.cfg.DedupWindow, h.srv.cfg.DedupMaxIDs) })
	return h.dedup
}
