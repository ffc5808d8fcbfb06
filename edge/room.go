package edge

import (
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

// room is the members of one room on this edge and its push batcher.
//
// Batching is adaptive: a push to a room that has not flushed within the
// last RoomBatchWindow is written at once; pushes arriving sooner wait
// for the window to end and go out together as one OpRaw batch. A quiet
// room therefore costs no latency and a busy room at most one window,
// where goim waits up to a second.
type room struct {
	srv *Server
	b   *bucket
	id  string

	mu      sync.RWMutex
	members map[*session]struct{}
	dead    bool // dropped from its bucket; look it up again

	// bmu guards the batcher.
	bmu       sync.Mutex
	pending   *protocol.Batch
	lastFlush time.Time
	timerSet  bool
	flushing  bool
}

func newRoom(srv *Server, b *bucket, id string) *room {
	return &room{srv: srv, b: b, id: id, members: make(map[*session]struct{})}
}

// add makes s a member; false when the room was dropped meanwhile.
func (r *room) add(s *session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead {
		return false
	}
	r.members[s] = struct{}{}
	return true
}

func (r *room) leave(s *session) {
	r.mu.Lock()
	delete(r.members, s)
	empty := len(r.members) == 0
	r.mu.Unlock()
	if empty {
		r.b.dropRoom(r)
	}
}

func (r *room) count() int {
	r.mu.RLock()
	n := len(r.members)
	r.mu.RUnlock()
	return n
}

// push adds msgs to the room's batch and flushes now or at the end of
// the batch window. It returns the members the batch will reach.
func (r *room) push(msgs []*edge.RoomMsg) int {
	r.bmu.Lock()
	if r.pending == nil {
		size := 0
		for _, m := range msgs {
			size += protocol.HeaderLen + len(m.Body)
		}
		r.pending = protocol.NewBatch(size)
	}
	for _, m := range msgs {
		r.pending.Add(m.Op, m.Body)
	}
	r.schedule()
	return r.count()
}

// schedule decides, with bmu held, whether to flush now, later, or leave
// it to the flush in progress; it releases bmu.
func (r *room) schedule() {
	if r.pending == nil || r.flushing || r.timerSet {
		r.bmu.Unlock()
		return
	}
	now := time.Now()
	wait := r.lastFlush.Add(r.srv.cfg.RoomBatchWindow).Sub(now)
	if wait > 0 && len(r.pending.Frames()) < r.srv.cfg.RoomBatchBytes {
		r.timerSet = true
		time.AfterFunc(wait, r.onTimer)
		r.bmu.Unlock()
		return
	}
	// Flush in the background: the caller is an RPC handler, and job
	// sends a room's next message only after this one is accepted, so
	// writing to every member here would cap a room at one fan-out per
	// round trip. Pushes that arrive meanwhile join the next batch.
	r.flushing = true
	r.bmu.Unlock()
	go func() {
		r.bmu.Lock()
		r.flushLocked(time.Now())
	}()
}

func (r *room) onTimer() {
	r.bmu.Lock()
	r.timerSet = false
	if r.flushing || r.pending == nil {
		r.bmu.Unlock()
		return
	}
	r.flushLocked(time.Now())
}

// flushLocked takes the pending batch (bmu held), releases bmu, writes
// the batch to every member, then looks at what arrived meanwhile. Only
// one flush runs per room at a time, so batches keep their order.
func (r *room) flushLocked(now time.Time) {
	batch := r.pending
	r.pending = nil
	r.lastFlush = now
	r.flushing = true
	r.bmu.Unlock()

	r.fanout(batch.Raw())

	r.bmu.Lock()
	r.flushing = false
	r.schedule()
}

// fanout writes the same encoded batch to every member: one encode per
// flush, however many members (see fanout.go for how the writes are
// spread).
func (r *room) fanout(msg []byte) {
	roomFlushesTotal.Inc()
	r.mu.RLock()
	members := make([]*session, 0, len(r.members))
	for s := range r.members {
		members = append(members, s)
	}
	r.mu.RUnlock()
	n := writeAll(members, msg, protocol.OpRaw, false, fanoutStallCheck)
	deliveredTotal.WithLabelValues("room").Add(float64(n))
}
