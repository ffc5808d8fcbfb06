package job

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
)

// Task states (task.state).
const (
	// taskWaiting: the handler waits for this task's outcome.
	taskWaiting int32 = iota
	// taskParked: the edge is down (or this task's lane is failing), so
	// the handler was told "parked" and no longer waits; the task stays
	// in the edge's outbox until the edge answers again, or is lost.
	taskParked
	// taskDone: finished, outcome counted.
	taskDone
)

// task is one queue message for one edge.
type task struct {
	ctx context.Context // the handler's: done means nobody waits any more
	msg *common.PushMsg // shared by the message's tasks; read only
	// speed is the broadcast rate for this edge (its share of msg.Speed).
	speed int32
	w     *waiter
	// size is what the task holds in the edge's outbox (edge_queue_bytes).
	size int64
	// queued: the task took a place in the edge's outbox (released when
	// it finishes).
	queued bool

	state    atomic.Int32
	parkedAt atomic.Int64 // unix nanoseconds; set when parked
}

// newTask is m's task for one edge.
func newTask(ctx context.Context, m *common.PushMsg, speed int32, w *waiter) *task {
	size := int64(len(m.Body)) + int64(len(m.Id)) + int64(len(m.Room)) + 128
	for _, k := range m.Keys {
		size += int64(len(k)) + 16
	}
	return &task{ctx: ctx, msg: m, speed: speed, w: w, size: size}
}

// parked reports whether the handler stopped waiting for t.
func (t *task) parked() bool { return t.state.Load() == taskParked }

// expired reports whether t has been parked for longer than grace.
func (t *task) expired(grace time.Duration, now time.Time) bool {
	at := t.parkedAt.Load()
	return at != 0 && now.Sub(time.Unix(0, at)) >= grace
}

// waiter collects the outcomes of one message's tasks; done closes when the
// last one finished (or was parked).
type waiter struct {
	left    atomic.Int32
	failed  atomic.Int32 // given up on: failed, overflow, gone, expired
	aborted atomic.Int32 // cut short because job is stopping
	parked  atomic.Int32 // held in a down edge's outbox
	// refused is the first edge refusal (EdgeError): the message is poison.
	refused atomic.Pointer[refusedBy]
	done    chan struct{}
}

// refusedBy is an edge's refusal of a message.
type refusedBy struct {
	node string
	err  *edge.EdgeError
}

func newWaiter(n int) *waiter {
	w := &waiter{done: make(chan struct{})}
	w.left.Store(int32(n))
	return w
}

// finishRefused is finish for an outcome that may carry the edge's
// refusal of the message (non-nil only with sendPoison).
func (w *waiter) finishRefused(result, node string, ref *edge.EdgeError) {
	if ref != nil {
		w.refused.CompareAndSwap(nil, &refusedBy{node: node, err: ref})
	}
	w.finish(result)
}

// finish records one task's outcome (a send* constant).
func (w *waiter) finish(result string) {
	switch result {
	case sendOK, sendPoison:
	case sendParked:
		w.parked.Add(1)
	case sendAborted:
		w.aborted.Add(1)
	default:
		w.failed.Add(1)
	}
	if w.left.Add(-1) == 0 {
		close(w.done)
	}
}

// methodLabel is the Edge RPC a push kind becomes.
func methodLabel(k common.PushKind) string {
	switch k {
	case common.PushKind_KEYS:
		return "PushKeys"
	case common.PushKind_ROOM:
		return "PushRoom"
	case common.PushKind_BROADCAST:
		return "Broadcast"
	}
	return "unknown"
}
