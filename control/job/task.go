package job

import (
	"context"
	"sync/atomic"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
)

// task is one queue message for one edge.
type task struct {
	ctx context.Context // the handler's: done means nobody waits any more
	msg *common.PushMsg // shared by the message's tasks; read only
	// speed is the broadcast rate for this edge (its share of msg.Speed).
	speed int32
	// trial: the one message let through to a down edge to test it.
	trial bool
	w     *waiter
}

// waiter collects the outcomes of one message's tasks; done closes when the
// last one finished.
type waiter struct {
	left    atomic.Int32
	failed  atomic.Int32 // given up on: down, failed, overflow, gone
	aborted atomic.Int32 // cut short because job is stopping
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
