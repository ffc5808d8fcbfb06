package edge

import (
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
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
	bmu     sync.Mutex
	pending *protocol.Batch
	// pendingPos is the same batch as op-28 frames, for members that
	// opted into recovery; made only once a message with a position
	// arrives (rooms without history pay nothing). posMarks locate its
	// frames.
	pendingPos *protocol.Batch
	posMarks   []posMark
	lastFlush  time.Time
	timerSet   bool
	flushing   bool
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
	if r.pendingPos == nil && anyPosition(msgs) {
		r.startPositioned()
	}
	for _, m := range msgs {
		r.pending.Add(m.Op, m.Body)
		if r.pendingPos != nil {
			r.addPositioned(m.Op, m.Body, m.Position)
		}
	}
	start := r.planLocked(time.Now())
	r.bmu.Unlock()
	if start {
		// Flush in the background: the caller is an RPC handler, and job
		// sends a room's next message only after this one is accepted, so
		// writing to every member here would cap a room at one fan-out
		// per round trip. Pushes that arrive meanwhile join the next
		// batch.
		go r.flushLoop()
	}
	return r.count()
}

// planLocked decides what the pending batch needs (bmu held): nothing
// (no batch, a flush in progress will look at it, or a timer is armed),
// a timer for the end of the window, or a flush now. For a flush now it
// marks the room flushing and returns true: the caller runs flushLoop.
func (r *room) planLocked(now time.Time) bool {
	if r.pending == nil || r.flushing || r.timerSet {
		return false
	}
	wait := r.lastFlush.Add(r.srv.cfg.RoomBatchWindow).Sub(now)
	if wait > 0 && len(r.pending.Frames()) < r.srv.cfg.RoomBatchBytes {
		r.timerSet = true
		time.AfterFunc(wait, r.onTimer)
		return false
	}
	r.flushing = true
	return true
}

// onTimer ends a batch window: the batch gathered during it is flushed,
// on the timer's goroutine.
func (r *room) onTimer() {
	r.bmu.Lock()
	r.timerSet = false
	start := r.planLocked(time.Now())
	r.bmu.Unlock()
	if start {
		r.flushLoop()
	}
}

// flushLoop writes the pending batch to every member, then the batches
// that arrived meanwhile, until none is due now (a later one gets a
// timer). Only one runs per room (flushing), so batches keep their order.
func (r *room) flushLoop() {
	for {
		r.bmu.Lock()
		batch := r.pending
		var pf *posForm
		if r.pendingPos != nil {
			pf = &posForm{frame: r.pendingPos.Raw(), raw: true, marks: r.posMarks}
		}
		r.pending, r.pendingPos, r.posMarks = nil, nil, nil
		r.lastFlush = time.Now()
		r.bmu.Unlock()

		r.fanout(batch.Raw(), pf)

		r.bmu.Lock()
		r.flushing = false
		again := r.planLocked(time.Now())
		r.bmu.Unlock()
		if !again {
			return
		}
	}
}

// fanout writes the same encoded batch to every member: one encode per
// flush, however many members (see fanout.go for how the writes are
// spread).
func (r *room) fanout(msg []byte, pf *posForm) {
	roomFlushesTotal.Inc()
	r.mu.RLock()
	members := make([]*session, 0, len(r.members))
	for s := range r.members {
		members = append(members, s)
	}
	r.mu.RUnlock()
	n := writeForms(members, msg, pf, protocol.OpRaw, false, fanoutStallCheck)
	deliveredTotal.WithLabelValues("room").Add(float64(n))
}

// anyPosition reports whether a message of msgs has a stream position.
func anyPosition(msgs []*edge.RoomMsg) bool {
	for _, m := range msgs {
		if m.Position != nil {
			return true
		}
	}
	return false
}

// startPositioned begins the op-28 form of the pending batch (bmu held),
// with the plain frames the batch holds so far.
func (r *room) startPositioned() {
	r.pendingPos = protocol.NewBatch(len(r.pending.Frames()) + 256)
	_ = protocol.SplitRaw(r.pending.Frames(), func(f protocol.Frame) error {
		r.addPositioned(f.Op, f.Body, nil)
		return nil
	}) // frames this batch built itself: well formed
}

// addPositioned appends one message to the op-28 form (bmu held): with
// its position, or plain when it has none.
func (r *room) addPositioned(op int32, body []byte, p *common.StreamPos) {
	start := r.pendingPos.Size()
	m := posMark{start: start}
	if p != nil {
		r.pendingPos.AddPositioned(p.Stream, p.Epoch, p.Offset, op, body)
		m.stream, m.epoch, m.offset = p.Stream, p.Epoch, p.Offset
	} else {
		r.pendingPos.Add(op, body)
	}
	m.end = r.pendingPos.Size()
	r.posMarks = append(r.posMarks, m)
}
