package job

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
	"github.com/goim-edge/goim-edge/tracing"
)

// lane is one ordered part of an edge's outbox: the tasks of the targets
// that hash to it, sent one RPC at a time by one goroutine.
type lane struct {
	mu      sync.Mutex
	queue   []*task // oldest first; the batch being sent is not in it
	sending []*task
	// stalled: the batch being sent failed an attempt. Until it gets
	// through, whatever joins the lane is parked at once: its handler
	// would otherwise wait behind a failing edge.
	stalled bool
	wake    chan struct{} // 1-buffered: a task was queued
}

func newLane() *lane {
	return &lane{wake: make(chan struct{}, 1)}
}

// push appends t; it reports whether t must be parked at once (the edge
// is down or the lane stalled).
func (l *lane) push(t *task, down bool) bool {
	l.mu.Lock()
	l.queue = append(l.queue, t)
	park := down || l.stalled
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return park
}

// park returns every task of the lane (the batch being sent first), and
// marks the lane stalled with stall.
func (l *lane) park(stall bool) []*task {
	l.mu.Lock()
	defer l.mu.Unlock()
	if stall {
		l.stalled = true
	}
	out := make([]*task, 0, len(l.sending)+len(l.queue))
	out = append(out, l.sending...)
	return append(out, l.queue...)
}

// take removes the next batch from the queue: the first task and, for a
// room message, the messages of the same room right behind it (up to
// max). ok is false when the queue is empty.
func (l *lane) take(batch []*task, max int) ([]*task, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	if len(batch) == 0 && len(l.queue) > 0 {
		n = 1
		batch = append(batch, l.queue[0])
	}
	if len(batch) == 0 {
		return nil, false
	}
	first := batch[0].msg
	if first.Kind == common.PushKind_ROOM {
		for n < len(l.queue) && len(batch) < max {
			m := l.queue[n].msg
			if m.Kind != common.PushKind_ROOM || m.Room != first.Room {
				break
			}
			batch = append(batch, l.queue[n])
			n++
		}
	}
	clear(l.queue[:n])
	l.queue = l.queue[n:]
	if len(l.queue) == 0 {
		l.queue = nil
	}
	l.sending = batch
	return batch, n > 0
}

// open reports whether more of batch's room could follow: the queue is
// empty (nothing of another target is next).
func (l *lane) open() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue) == 0
}

// sent clears the batch in flight; ok (it got through) ends a stall.
func (l *lane) sent(ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sending = nil
	if ok {
		l.stalled = false
	}
}

// runLane sends the lane's tasks one RPC at a time, in order, until the
// edge is sealed and the lane drained.
func (e *edgeConn) runLane(l *lane) {
	defer e.wg.Done()
	for {
		batch := e.next(l)
		if batch == nil {
			return
		}
		l.sent(e.send(l, batch))
	}
}

// next waits for the lane's next batch; nil once the edge is sealed and
// the lane empty. With a RoomCoalesceWindow, a room batch that emptied the
// lane waits that long for more messages of its room.
func (e *edgeConn) next(l *lane) []*task {
	for {
		batch, ok := l.take(nil, e.cfg.RoomBatchMax)
		if ok {
			if e.cfg.RoomCoalesceWindow > 0 && batch[0].msg.Kind == common.PushKind_ROOM {
				batch = e.coalesce(l, batch)
			}
			return batch
		}
		select {
		case <-l.wake:
		case <-e.sealed:
			if batch, ok := l.take(nil, e.cfg.RoomBatchMax); ok {
				return batch
			}
			return nil
		}
	}
}

// coalesce waits up to RoomCoalesceWindow for more messages of batch's room
// while nothing of another target is queued behind it.
func (e *edgeConn) coalesce(l *lane, batch []*task) []*task {
	window := time.NewTimer(e.cfg.RoomCoalesceWindow)
	defer window.Stop()
	for len(batch) < e.cfg.RoomBatchMax && l.open() {
		select {
		case <-l.wake:
			batch, _ = l.take(batch, e.cfg.RoomBatchMax)
		case <-window.C:
			return batch
		case <-e.sealed:
			return batch
		}
	}
	return batch
}

// send delivers batch (several tasks only for one room) and finishes every
// task. A failed attempt parks the batch and stalls the lane (handlers
// stop waiting on this edge); attempts go on with backoff, and once the
// edge is down (breaker open) one trial per ProbeInterval, until the
// batch gets through, the edge is retired, job stops, or a parked task
// has waited EdgeGrace for a down edge. It reports whether the batch got
// through.
func (e *edgeConn) send(l *lane, batch []*task) bool {
	failures := 0
	for {
		batch = e.live(batch)
		if len(batch) == 0 {
			return true
		}
		if e.ctx.Err() != nil {
			e.finishAll(batch, sendAborted, nil)
			return false
		}
		trial := false
		if e.brk.isOpen() {
			for _, t := range batch {
				e.park(t) // no handler waits on a down edge
			}
			if e.gone() {
				// Retired while down: nobody will take the outbox.
				e.finishAll(batch, sendGone, nil)
				return false
			}
			if batch = e.expire(batch); len(batch) == 0 {
				return false
			}
			ok, tr := e.brk.admit()
			if !ok {
				e.waitUp(batch)
				continue
			}
			trial = tr
		}
		took, err := e.attempt(batch)
		if ref := refusal(err); ref != nil {
			// The edge answered in time and refused the message: the
			// message is at fault, not the edge.
			if len(batch) > 1 {
				// One message of a coalesced batch may be the one
				// refused: send each alone so only the poison is set
				// aside.
				ok := true
				for _, t := range batch {
					ok = e.send(l, []*task{t}) && ok
				}
				return ok
			}
			e.finishAll(batch, sendPoison, ref)
			return true
		}
		if err == nil {
			e.observeLatency(took)
			// Delivered: finish first, so a breaker the slow call opens
			// (which parks what the lanes hold) never takes this batch
			// for a parked one.
			e.finishAll(batch, sendOK, nil)
			if !trial && e.slowCounts(took) {
				// Delivered, but an edge this slow, next to others that
				// are not, holds every message it is part of: it counts
				// towards the breaker like a failure. A trial that got
				// through closes the breaker even when slow, or a slow
				// edge would get one batch per probe interval for good.
				edgeSlowCalls.WithLabelValues(methodLabel(batch[0].msg.Kind)).Inc()
				e.brk.failure()
			} else {
				e.brk.success()
			}
			return true
		}
		if e.ctx.Err() != nil {
			e.finishAll(batch, sendAborted, nil)
			return false
		}
		e.brk.failure()
		failures++
		if failures == 1 {
			// Whatever is queued behind this batch would wait on the
			// failing edge: release its handlers, keep the order.
			for _, t := range l.park(true) {
				e.park(t)
			}
		}
		if trial {
			continue
		}
		if failures > e.cfg.Retries {
			if e.gone() {
				e.finishAll(batch, sendFailed, nil)
				return false
			}
			e.log.Debug("job: edge rpc failed every retry", "msg_id", batch[0].msg.Id, "attempts", failures, "err", err)
			e.brk.trip("a message failed every retry")
			continue
		}
		edgeRetries.Inc()
		e.sleep(jitter(e.cfg.backoff(failures)))
	}
}

// attempt makes one RPC for batch: how long it took, and its error.
func (e *edgeConn) attempt(batch []*task) (time.Duration, error) {
	method := methodLabel(batch[0].msg.Kind)
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.RPCTimeout)
	defer cancel()
	ctx, span := e.traceCall(ctx, batch)
	start := time.Now()
	err := e.call(batch)(ctx)
	if span != nil {
		tracing.End(span, err)
	}
	took := time.Since(start)
	if refusal(err) != nil {
		observeRPC(method, start, nil)
	} else {
		observeRPC(method, start, err)
	}
	return took, err
}

// live drops the tasks whose handler stopped waiting for them because job
// is stopping (not parked ones: their queue message is acknowledged).
func (e *edgeConn) live(batch []*task) []*task {
	return e.drop(batch, func(t *task) bool { return !t.parked() && t.ctx.Err() != nil }, sendAborted)
}

// expire gives up on the tasks of batch that waited EdgeGrace for the
// (down) edge.
func (e *edgeConn) expire(batch []*task) []*task {
	now := time.Now()
	return e.drop(batch, func(t *task) bool { return t.expired(e.cfg.EdgeGrace, now) }, sendExpired)
}

// drop finishes the tasks of batch for which gone holds with result and
// returns the others, in a new slice when any is dropped (batch is the
// lane's batch in flight, read by lane.park).
func (e *edgeConn) drop(batch []*task, gone func(*task) bool, result string) []*task {
	var out []*task
	for i, t := range batch {
		if !gone(t) {
			if out != nil {
				out = append(out, t)
			}
			continue
		}
		if out == nil {
			out = append(make([]*task, 0, len(batch)), batch[:i]...)
		}
		e.finish(t, result, nil)
	}
	if out == nil {
		return batch
	}
	return out
}

// waitUp waits while the edge is down: until it is back, the next trial,
// the first parked task of batch expires, or the edge or job stops.
func (e *edgeConn) waitUp(batch []*task) {
	d := max(e.brk.untilTrial(), time.Millisecond)
	for _, t := range batch {
		if at := t.parkedAt.Load(); at != 0 {
			d = min(d, max(time.Until(time.Unix(0, at).Add(e.cfg.EdgeGrace)), time.Millisecond))
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-e.brk.upChan():
	case <-timer.C:
	case <-e.ctx.Done():
	case <-e.closing:
	}
}

// finishAll finishes every task of batch with result.
func (e *edgeConn) finishAll(batch []*task, result string, ref *edge.EdgeError) {
	for _, t := range batch {
		e.finish(t, result, ref)
	}
}

// call builds the RPC for batch.
func (e *edgeConn) call(batch []*task) func(context.Context) error {
	m := batch[0].msg
	switch m.Kind {
	case common.PushKind_KEYS:
		req := &edge.PushKeysReq{Keys: m.Keys, Op: m.Op, Body: m.Body, MsgId: m.Id, Positions: m.Positions}
		return func(ctx context.Context) error {
			_, err := e.rpc.pushKeys(ctx, req)
			return err
		}
	case common.PushKind_ROOM:
		req := &edge.PushRoomReq{Room: m.Room, Msgs: make([]*edge.RoomMsg, len(batch))}
		for i, t := range batch {
			req.Msgs[i] = &edge.RoomMsg{Op: t.msg.Op, Body: t.msg.Body, MsgId: t.msg.Id, Position: roomPosition(t.msg)}
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

// sleep waits d unless job stops or the edge is retired first.
func (e *edgeConn) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-e.ctx.Done():
	case <-e.closing:
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

// roomPosition is a room message's place in its room's stream, the one
// position logic put on it (nil when the room keeps no history).
func roomPosition(m *common.PushMsg) *common.StreamPos {
	want := protocol.RoomStream(m.Room)
	for _, p := range m.Positions {
		if p.Stream == want {
			return p
		}
	}
	return nil
}

// traceCall starts the span of one edge call, a child of the first
// task's delivery span and linked to the others' (a room batch serves
// several messages). nil when tracing is off.
func (e *edgeConn) traceCall(ctx context.Context, batch []*task) (context.Context, trace.Span) {
	if !tracing.On() {
		return ctx, nil
	}
	var links []trace.Link
	for _, t := range batch[1:] {
		if sc := trace.SpanContextFromContext(t.ctx); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	parent := trace.ContextWithSpan(ctx, trace.SpanFromContext(batch[0].ctx))
	ctx, span := tracing.Tracer().Start(parent, "goim.edge_call", trace.WithSpanKind(trace.SpanKindClient), trace.WithLinks(links...),
		trace.WithAttributes(tracing.Node.String(e.inst.Node), tracing.MsgID.String(batch[0].msg.Id), tracing.Count.Int(len(batch))))
	return ctx, span
}
