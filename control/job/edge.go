package job

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/registry"
)

// edgeConn is job's link to one edge: a Kitex client, MaxInflightPerEdge
// lanes that each send one RPC at a time in order, a breaker that stops
// job from waiting on an edge that keeps failing, and (room targeting by
// members) the edge's last Rooms report.
//
// A slow or hung edge only fills its own lanes: handlers enqueue without
// waiting for other edges, and once the breaker opens they do not enqueue
// for that edge at all.
type edgeConn struct {
	inst  registry.Instance
	cfg   Config
	rpc   *edgeRPC
	ctx   context.Context // job's run context: RPCs end when job stops
	lanes []chan *task
	log   *slog.Logger
	brk   breaker
	rooms roomsView
	// latency is a moving average of successful push RPCs, nanoseconds
	// (0: none yet); fastPeer tells whether another edge is answering
	// well under SlowCall (see slowCounts).
	latency  atomic.Int64
	fastPeer func(self *edgeConn) bool

	// closing wakes handlers blocked on a full lane; sealed (closed after
	// mu is taken with closed set) tells lanes that nothing more arrives.
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
		lanes:    make([]chan *task, cfg.MaxInflightPerEdge),
		log:      log.With("edge", inst.Node, "addr", inst.Addrs.RPC),
		closing:  make(chan struct{}),
		sealed:   make(chan struct{}),
		fastPeer: fastPeer,
	}
	e.brk.init(cfg.BreakerFailures, cfg.ProbeInterval, e.log)
	for i := range e.lanes {
		e.lanes[i] = make(chan *task, cfg.laneQueue())
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
func (e *edgeConn) lane(target string) chan *task {
	h := fnv.New32a()
	h.Write([]byte(target))
	return e.lanes[h.Sum32()%uint32(len(e.lanes))]
}

// trySubmit queues t without waiting. It returns "" when t is queued (its
// waiter will hear from the lane), the outcome when t was refused at once,
// and sendOverflow when the lane is full (the caller may wait with submit).
func (e *edgeConn) trySubmit(t *task, target string) string {
	ok, trial := e.brk.admit()
	if !ok {
		return sendDown
	}
	t.trial = trial
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return sendGone
	}
	select {
	case e.lane(target) <- t:
		return ""
	default:
		return sendOverflow
	}
}

// submit queues t, waiting up to RPCTimeout for room in a full lane. It
// always ends with t's waiter told, by the lane or here.
func (e *edgeConn) submit(t *task, target string) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		t.w.finish(e.count(t, sendGone))
		return
	}
	timer := time.NewTimer(e.cfg.RPCTimeout)
	defer timer.Stop()
	select {
	case e.lane(target) <- t:
	case <-timer.C:
		t.w.finish(e.count(t, sendOverflow))
	case <-e.closing:
		t.w.finish(e.count(t, sendGone))
	case <-t.ctx.Done():
		t.w.finish(e.count(t, sendAborted))
	}
}

// count records the outcome of t on this edge and returns it.
func (e *edgeConn) count(t *task, result string) string {
	edgeSends.WithLabelValues(methodLabel(t.msg.Kind), result).Inc()
	if result != sendOK && result != sendAborted {
		e.log.Debug("job: gave up on edge for message", "msg_id", t.msg.Id, "kind", queue.KindLabel(t.msg.Kind), "result", result)
	}
	return result
}

// close stops taking messages, lets the lanes send what is queued (bounded
// by the RPC deadlines and the breaker), and releases the client. Edges
// deregister before they stop serving, so the queued messages still reach
// a departing edge's devices.
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
