package job

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
)

// runLane sends the lane's tasks one RPC at a time, in order, until the
// edge is sealed and the lane drained.
func (e *edgeConn) runLane(ch chan *task) {
	defer e.wg.Done()
	var held *task // taken while coalescing but not part of the batch
	for {
		t := held
		held = nil
		if t == nil {
			select {
			case t = <-ch:
			case <-e.sealed:
				select {
				case t = <-ch:
				default:
					return
				}
			}
		}
		batch := []*task{t}
		if t.msg.Kind == common.PushKind_ROOM {
			batch, held = e.coalesce(ch, batch)
		}
		e.send(batch)
	}
}

// coalesce adds the room messages for batch[0]'s room that follow it in
// the lane: those already queued at once, and, with a RoomBatchWindow,
// those arriving within the window. The first task for another target
// ends the batch and is returned to be sent next, so order is kept.
func (e *edgeConn) coalesce(ch chan *task, batch []*task) ([]*task, *task) {
	room := batch[0].msg.Room
	var window <-chan time.Time
	if e.cfg.RoomBatchWindow > 0 {
		t := time.NewTimer(e.cfg.RoomBatchWindow)
		defer t.Stop()
		window = t.C
	}
	for len(batch) < e.cfg.RoomBatchMax {
		var next *task
		select {
		case next = <-ch:
		default:
			if window == nil {
				return batch, nil
			}
			select {
			case next = <-ch:
			case <-window:
				return batch, nil
			case <-e.sealed:
				return batch, nil
			}
		}
		if next.msg.Kind != common.PushKind_ROOM || next.msg.Room != room {
			return batch, next
		}
		batch = append(batch, next)
	}
	return batch, nil
}

// send delivers batch (several tasks only for one room) with retries and
// tells every task's waiter the outcome.
func (e *edgeConn) send(batch []*task) {
	live := batch[:0:0]
	for _, t := range batch {
		if t.ctx.Err() != nil {
			t.w.finish(e.count(t, sendAborted))
			continue
		}
		live = append(live, t)
	}
	if len(live) == 0 {
		return
	}
	result, refused := e.deliver(live)
	if refused != nil && len(live) > 1 {
		// One message of a coalesced batch may be the one refused: send
		// each alone so only the poison is set aside.
		for _, t := range live {
			r, ref := e.deliver([]*task{t})
			t.w.finishRefused(e.count(t, r), e.inst.Node, ref)
		}
		return
	}
	for _, t := range live {
		t.w.finishRefused(e.count(t, result), e.inst.Node, refused)
	}
}

// deliver makes the RPC for batch, retrying with backoff, and returns the
// outcome, with the edge's EdgeError when it refused the batch (poison:
// not retried, not counted by the breaker). A retry after a timeout may
// reach the edge twice (it may have taken the first attempt); the edge
// drops the second by message id.
func (e *edgeConn) deliver(batch []*task) (string, *edge.EdgeError) {
	first := batch[0]
	method := methodLabel(first.msg.Kind)
	call := e.call(batch)
	trial := false
	for _, t := range batch {
		trial = trial || t.trial
	}
	for attempt := 0; ; attempt++ {
		// Messages queued before the breaker opened give up now rather
		// than each wait out a deadline; only a trial tries a down edge,
		// and only once.
		if e.brk.isOpen() && (!trial || attempt > 0) {
			return sendDown, nil
		}
		if e.ctx.Err() != nil {
			return sendAborted, nil
		}
		ctx, cancel := context.WithTimeout(e.ctx, e.cfg.RPCTimeout)
		start := time.Now()
		err := call(ctx)
		took := time.Since(start)
		cancel()
		if ref := refusal(err); ref != nil {
			// The edge answered in time and refused the message: the
			// message is at fault, not the edge.
			observeRPC(method, start, nil)
			return sendPoison, ref
		}
		observeRPC(method, start, err)
		if err == nil {
			e.observeLatency(took)
			if e.slowCounts(took) {
				// Delivered, but an edge this slow, next to others that
				// are not, holds every message it is part of: it counts
				// towards the breaker like a failure.
				edgeSlowCalls.WithLabelValues(method).Inc()
				e.brk.failure()
			} else {
				e.brk.success()
			}
			return sendOK, nil
		}
		if e.ctx.Err() != nil {
			return sendAborted, nil
		}
		e.brk.failure()
		if attempt >= e.cfg.Retries {
			e.log.Debug("job: edge rpc failed, giving up", "method", method, "msg_id", first.msg.Id, "attempts", attempt+1, "err", err)
			return sendFailed, nil
		}
		edgeRetries.Inc()
		if !e.sleep(jitter(e.cfg.backoff(attempt + 1))) {
			return sendAborted, nil
		}
	}
}

// call builds the RPC for batch.
func (e *edgeConn) call(batch []*task) func(context.Context) error {
	m := batch[0].msg
	switch m.Kind {
	case common.PushKind_KEYS:
		req := &edge.PushKeysReq{Keys: m.Keys, Op: m.Op, Body: m.Body, MsgId: m.Id}
		return func(ctx context.Context) error {
			_, err := e.rpc.pushKeys(ctx, req)
			return err
		}
	case common.PushKind_ROOM:
		req := &edge.PushRoomReq{Room: m.Room, Msgs: make([]*edge.RoomMsg, len(batch))}
		for i, t := range batch {
			req.Msgs[i] = &edge.RoomMsg{Op: t.msg.Op, Body: t.msg.Body, MsgId: t.msg.Id}
		}
		roomBatchSize.Observe(float64(len(batch)))
		return func(ctx context.Context) error {
			_, err := e.rpc.pushRoom(ctx, req)
			return err
		}
	default:
		req := &edge.BroadcastReq{Op: m.Op, Body: m.Body, Speed: batch[0].speed, MsgId: m.Id}
		return func(ctx context.Context) error {
			_, err := e.rpc.broadcast(ctx, req)
			return err
		}
	}
}

// sleep waits d unless job stops first; it reports whether it waited.
func (e *edgeConn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.ctx.Done():
		return false
	}
}

// jitter spreads d over [d/2, d) so retries of many lanes do not align.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half)
}
