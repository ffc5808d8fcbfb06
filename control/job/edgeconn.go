package job

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/registry"
)

// edgeConn is job's link to one edge: a Kitex client, MaxInflightPerEdge
// lanes that each send one RPC at a time in order, a breaker that stops
// job from waiting on an edge that keeps failing, and (room targeting by
// members) the edge's last Rooms report.
//
// The lanes are the edge's outbox, bounded by EdgeQueue messages and
// EdgeQueueBytes. A slow or hung edge only fills its own outbox: handlers
// enqueue without waiting for other edges, and once the edge is down (or
// one lane's message failed an attempt) the handlers stop waiting for it
// at all: its tasks are parked, kept in order in the outbox and sent when
// the edge answers again.
type edgeConn struct {
	inst  registry.Instance
	cfg   Config
	rpc   *edgeRPC
	ctx   context.Context // job's run context: RPCs end when job stops
	lanes []*lane
	log   *slog.Logger
	brk   breaker
	rooms roomsView
	// latency is a moving average of successful push RPCs, nanoseconds
	// (0: none yet); fastPeer tells whether another edge is answering
	// well under SlowCall (see slowCounts).
	latency  atomic.Int64
	fastPeer func(self *edgeConn) bool
	lostLog  rate.Sometimes

	// queued and queuedBytes are what the outbox holds (EdgeQueue,
	// EdgeQueueBytes); room is closed and replaced when a place frees
	// while someone waits for one (roomWaiters).
	queued      atomic.Int64
	queuedBytes atomic.Int64
	roomWaiters atomic.Int32
	roomMu      sync.Mutex
	room        chan struct{}

	// closing wakes handlers blocked on a full outbox; sealed (closed
	// after mu is taken with closed set) tells lanes that nothing more
	// arrives.
	mu      sync.RWMutex
	closed  bool
	closing chan struct{}
	sealed  chan struct{}
	wg      sync.WaitGroup
}

func newEdgeConn(ctx context.Context, inst registry.Instance, cfg Config, log *slog.Logger, fastPeer func(*edgeConn) bool) (*edgeConn, error) {
	rpc, err := newEdgeRPC(inst.Addrs.RPC, cfg)
	if err != nil {
		return nil, err
	}
	e := &edgeConn{
		inst:     inst,
		cfg:      cfg,
		rpc:      rpc,
		ctx:      ctx,
		lanes:    make([]*lane, cfg.MaxInflightPerEdge),
		log:      log.With("edge", inst.Node, "addr", inst.Addrs.RPC),
		closing:  make(chan struct{}),
		sealed:   make(chan struct{}),
		room:     make(chan struct{}),
		fastPeer: fastPeer,
		lostLog:  rate.Sometimes{First: 10, Interval: 10 * time.Second},
	}
	e.brk.init(cfg.BreakerFailures, cfg.ProbeInterval, e.log, e.parkAll)
	for i := range e.lanes {
		e.lanes[i] = newLane()
		e.wg.Add(1)
		go e.runLane(e.lanes[i])
	}
	if cfg.RoomTargeting == TargetMembers {
		e.wg.Add(1)
		go e.pollRoomsLoop()
	}
	return e, nil
}

// lane picks the lane for a target, so one target's messages stay in order.
func (e *edgeConn) lane(target string) *lane {
	h := fnv.New32a()
	h.Write([]byte(target))
	return e.lanes[h.Sum32()%uint32(len(e.lanes))]
}

// reserve takes a place in the outbox for t; false when it is full. A
// message alone in the outbox always fits, whatever its size.
func (e *edgeConn) reserve(t *task) bool {
	n := e.queued.Add(1)
	b := e.queuedBytes.Add(t.size)
	if n > int64(e.cfg.EdgeQueue) || (n > 1 && b > e.cfg.EdgeQueueBytes) {
		e.queued.Add(-1)
		e.queuedBytes.Add(-t.size)
		return false
	}
	t.queued = true
	return true
}

// release gives t's place in the outbox back.
func (e *edgeConn) release(t *task) {
	if !t.queued {
		return
	}
	t.queued = false
	e.queued.Add(-1)
	e.queuedBytes.Add(-t.size)
	if e.roomWaiters.Load() > 0 {
		e.roomMu.Lock()
		close(e.room)
		e.room = make(chan struct{})
		e.roomMu.Unlock()
	}
}

// roomChan is closed when a place in the outbox frees.
func (e *edgeConn) roomChan() <-chan struct{} {
	e.roomMu.Lock()
	defer e.roomMu.Unlock()
	return e.room
}

// trySubmit queues t without waiting. It returns "" when t is queued (its
// waiter will hear from the lane, or was told it is parked), the outcome
// when t was refused at once (sendGone; sendOverflow: the outbox of a
// down edge is full), and sendFull when the outbox of an edge that
// answers is full (the caller may wait for room with submit).
func (e *edgeConn) trySubmit(t *task, target string) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return sendGone
	}
	if !e.reserve(t) {
		if e.brk.isOpen() {
			return sendOverflow
		}
		return sendFull
	}
	if e.lane(target).push(t, e.brk.isOpen()) {
		e.park(t)
	}
	return ""
}

// submit queues t, waiting for room in a full outbox while the edge
// answers (back pressure on a slow edge: nothing is dropped). Once the
// edge is down a full outbox loses t (counted). It always ends with t
// finished or queued.
func (e *edgeConn) submit(t *task, target string) {
	e.roomWaiters.Add(1)
	defer e.roomWaiters.Add(-1)
	timer := time.NewTimer(e.cfg.RPCTimeout)
	defer timer.Stop()
	for {
		room := e.roomChan()
		switch r := e.trySubmit(t, target); r {
		case "":
			return
		case sendFull:
		default:
			e.finish(t, r, nil)
			return
		}
		select {
		case <-room:
		case <-timer.C:
			// Recheck the breaker: a down edge's full outbox loses t.
			timer.Reset(e.cfg.RPCTimeout)
		case <-t.ctx.Done():
			e.finish(t, sendAborted, nil)
			return
		}
	}
}

// park tells t's handler to stop waiting: t stays in the outbox until
// the edge answers, EdgeGrace passes with the edge down, or job stops.
func (e *edgeConn) park(t *task) {
	if t.ctx.Err() != nil {
		// The handler is gone (job stopping): the queue delivers the
		// message again, parking would only count a loss.
		return
	}
	if !t.state.CompareAndSwap(taskWaiting, taskParked) {
		return
	}
	t.parkedAt.Store(time.Now().UnixNano())
	parkedGauge.Inc()
	parkedTotal.WithLabelValues(queue.KindLabel(t.msg.Kind)).Inc()
	t.w.finish(sendParked)
}

// parkAll parks every task in the outbox (the breaker opened).
func (e *edgeConn) parkAll() {
	for _, l := range e.lanes {
		for _, t := range l.park(false) {
			e.park(t)
		}
	}
}

// finish ends t with result: its handler hears it, or, when t was
// parked (its queue message is acknowledged), it is counted as a late
// delivery or a loss. ref is the edge's refusal with sendPoison.
func (e *edgeConn) finish(t *task, result string, ref *edge.EdgeError) {
	kind := queue.KindLabel(t.msg.Kind)
	if t.state.CompareAndSwap(taskWaiting, taskDone) {
		e.release(t)
		e.count(t, result)
		t.w.finishRefused(result, e.inst.Node, ref)
		switch result {
		case sendOK, sendPoison, sendAborted:
		default:
			e.lost(t, kind, result)
		}
		return
	}
	if !t.state.CompareAndSwap(taskParked, taskDone) {
		return // finished already: its slot and count are taken care of
	}
	e.release(t)
	e.count(t, result)
	parkedGauge.Dec()
	switch result {
	case sendOK:
		parkedSent.WithLabelValues(kind).Inc()
	case sendPoison:
		// Acknowledged already, so the queue cannot set it aside.
		poisonTotal.WithLabelValues(kind, poisonRefused).Inc()
		e.log.Warn("job: edge refused a parked message (poison, already acknowledged)",
			"msg_id", t.msg.Id, "kind", kind, "code", ref.GetCode(), "err", ref.GetMessage())
	default:
		e.lost(t, kind, result)
	}
}

// lost counts and logs (rate limited) a share given up on.
func (e *edgeConn) lost(t *task, kind, result string) {
	reason := lostReason(result)
	lostTotal.WithLabelValues(kind, reason).Inc()
	e.lostLog.Do(func() {
		e.log.Warn("job: push lost for this edge's devices", "msg_id", t.msg.Id, "kind", kind,
			"reason", reason, "edge_queue", e.cfg.EdgeQueue, "edge_grace", e.cfg.EdgeGrace)
	})
}

// count records the outcome of t on this edge and returns it.
func (e *edgeConn) count(t *task, result string) string {
	edgeSends.WithLabelValues(methodLabel(t.msg.Kind), result).Inc()
	if result != sendOK && result != sendAborted {
		e.log.Debug("job: gave up on edge for message", "msg_id", t.msg.Id, "kind", queue.KindLabel(t.msg.Kind), "result", result)
	}
	return result
}

// gone reports whether the edge is being retired.
func (e *edgeConn) gone() bool {
	select {
	case <-e.closing:
		return true
	default:
		return false
	}
}

// close stops taking messages, lets the lanes send what is queued (bounded
// by the RPC deadlines; a down edge's outbox is given up on, counted
// lost), and releases the client. Edges deregister before they stop
// serving, so the queued messages still reach a departing edge's devices.
func (e *edgeConn) close() {
	close(e.closing)
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	close(e.sealed)
	e.wg.Wait()
	e.brk.forget()
	if err := e.rpc.close(); err != nil {
		e.log.Warn("job: close edge client", "err", err)
	}
}

// pollRoomsLoop keeps the edge's Rooms report fresh for room targeting by
// members, until the edge is closed or job stops.
func (e *edgeConn) pollRoomsLoop() {
	defer e.wg.Done()
	e.pollRooms()
	tick := time.NewTicker(e.cfg.RoomsRefresh)
	defer tick.Stop()
	for {
		select {
		case <-e.closing:
			return
		case <-e.ctx.Done():
			return
		case <-tick.C:
			e.pollRooms()
		}
	}
}

// pollRooms asks the edge for its rooms. A failed poll leaves the old
// report to go stale, and a stale report makes the edge a target of every
// room again; the breaker only follows pushes.
func (e *edgeConn) pollRooms() {
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.RPCTimeout)
	defer cancel()
	start := time.Now()
	resp, err := e.rpc.rooms(ctx)
	observeRPC("Rooms", start, err)
	if err != nil {
		if e.ctx.Err() == nil {
			roomsPollErrors.Inc()
			e.log.Debug("job: rooms poll failed", "err", err)
		}
		return
	}
	e.rooms.set(resp.GetRooms())
}

// observeLatency folds one successful push's duration into the average
// (weight 1/8; concurrent lanes may lose an update, which only smooths).
func (e *edgeConn) observeLatency(d time.Duration) {
	old := e.latency.Load()
	if old == 0 {
		e.latency.Store(int64(d))
		return
	}
	e.latency.Store(old + (int64(d)-old)/8)
}

// slowCounts reports whether a successful call that took d counts towards
// the breaker. It must be slower than SlowCall, and some other edge must
// be answering well (its average under SlowCall): then this edge is the
// slow one, holding messages the others have already taken. When every
// edge is slow the cause is common (job starved of CPU, a loaded network,
// a burst every edge is working through), and opening breakers would only
// turn that slowness into lost pushes everywhere.
func (e *edgeConn) slowCounts(d time.Duration) bool {
	return e.cfg.SlowCall > 0 && d > e.cfg.SlowCall && e.fastPeer != nil && e.fastPeer(e)
}

// observeRPC records one attempt's duration.
func observeRPC(method string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	edgeRPCSeconds.WithLabelValues(method, result).Observe(time.Since(start).Seconds())
}
