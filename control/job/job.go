// Package job consumes pushes from the queue and fans them out to edges
// over Kitex: key pushes to the edge that holds the keys, room and
// broadcast pushes to every edge (or, with room targeting by members, to
// the edges that hold members of the room).
//
// # Guarantees
//
// At least once through a job crash, except for what is parked (below). A
// queue message is acknowledged only once every target edge's part is
// done: the edge accepted it, the edge is down and holds it parked in its
// outbox, or job gave up on that edge (below). A job killed mid fan-out
// acknowledged nothing it was working on, so the queue delivers those
// messages again (Redis: to the restarted job at once, or to another
// after claim_min_idle; Kafka: after the rebalance; memory: it dies with
// the process).
//
// An edge that is down is not gone. When an attempt to an edge fails
// (timeout, transport error), that lane's message and everything queued
// behind it are parked: kept in order in the edge's outbox (its lanes,
// bounded by EdgeQueue messages and EdgeQueueBytes), while their handlers
// stop waiting and the queue messages are acknowledged once every other
// edge has its part. Attempts go on with backoff; after Retries+1 failed
// attempts of one message or BreakerFailures in a row the edge is down
// (breaker open): everything for it is parked at once, and one trial RPC
// per ProbeInterval tests it. The trial's success sends the outbox, in
// order per target. So an edge that hangs (SIGSTOP, a stalled process,
// a network partition) and answers again within EdgeGrace, while still
// registered or within its registry grace, gets its whole share, and the
// others never wait behind it for longer than one RPCTimeout.
//
// What parking costs: a parked message lives only in job's memory. A job
// that crashes while an edge is down loses that edge's parked share (the
// other edges had theirs); a job stopped with Close counts it
// (goim_job_lost_total{reason="job_stopped"}). Every other loss is
// counted in goim_job_lost_total{kind,reason} and logged (rate limited):
// outbox_full (a down edge's outbox was full: a message for an edge that
// answers waits for room instead, back pressure without loss), edge_down
// (parked for EdgeGrace while the edge stayed down), edge_gone (queued
// for an edge retired after its registry grace, or that moved), and
// unknown_edge (a keys push for an edge that stayed unregistered).
// goim_job_parked is what is parked now; goim_job_parked_sent_total what
// reached its edge late.
//
// A slow edge is not a dead one. While a message is being handled, the
// Redis queue keeps its pending entry fresh, so another job never claims
// it from a live job (that was the source of duplicates and reordering
// behind a slow edge). What a slow edge costs others is bounded: a call
// slower than SlowCall, while another edge answers faster than that,
// counts towards its breaker like a failure, and after BreakerFailures of
// them the edge is down: its messages are parked (not lost) and it costs
// only its own devices' latency. When every edge is slow (job starved of
// CPU, a burst) no breaker opens: that slowness is nobody's alone. Below
// that threshold, the messages of one target (room, key list,
// broadcasts) wait for their slowest edge before the next message of
// that target is handed over: that is the price of per-target order with
// at-least-once acknowledgement.
//
// Poison is not failure. A message that names nothing deliverable, or
// that an edge refuses with an EdgeError (the message's own fault: a
// reserved op, a malformed request), is set aside: the queue moves it to
// its dead letters (Redis stream "<stream>:dead", Kafka "<topic>.dead",
// memory Dead()) and logs it once with its id; job counts it in
// goim_job_poison_total{kind,reason}. It is never retried and never
// counts against the edge's breaker, so a caller's mistake cannot stop
// delivery to anyone else. A refused message inside a coalesced room
// batch is isolated by sending the batch's messages one by one.
//
// Registry blips are not outages. job consumes nothing before its first
// complete view of the edges (registry.ReadyWaiter: etcd unreachable at
// start means waiting, not acknowledging the backlog to zero edges). An
// edge that leaves the registry stays a target for EdgeGrace (a lease
// that lapsed during an etcd stall comes back within it); a keys push for
// an edge job has not seen waits for it up to EdgeGrace after job's first
// complete view. Past that a keys push for an unregistered edge is
// acknowledged and counted lost (goim_job_lost_total, logged). Draining
// edges stay targets until they deregister.
//
// What can be duplicated: a message redelivered after a job crash reaches
// again the edges that had it; an RPC that timed out and is retried may
// reach the edge twice (a hung edge processes its timed-out requests when
// it resumes, then gets them again from the outbox); a queue message
// whose pending entry could not be refreshed (Redis unreachable for
// claim_min_idle) may be claimed by another job. Every push carries its
// message id and edges drop ids they delivered within their
// dedup_window, so devices see each push once unless the duplicate comes
// later than that window (keep dedup_window above edge_grace).
//
// Order holds per target and edge: messages for one room, one key list or
// all broadcasts go through one lane per edge, in the order the queue
// handed them over (the queues keep order per target within one consumer;
// Kafka across jobs, Redis not across jobs); a parked message keeps its
// place in its lane and nothing of its lane overtakes it. A message lost
// for an edge (above) leaves a gap, never a reordering. A redelivered
// message comes after later ones that were already delivered.
package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/tracing"
)

// Run's states (Job.state); 0, the zero value, is before Run.
const (
	// stateWaitingForEdges: watching the registry, not consuming until
	// the view of the edges is complete.
	stateWaitingForEdges int32 = iota + 1
	stateConsuming
)

// Job is the fan-out service: New, then Run until Close.
type Job struct {
	cfg      Config
	consumer queue.Consumer
	disc     registry.Discovery
	log      *slog.Logger
	dropLog  rate.Sometimes

	// state is where Run is (state* constants), for tests and operators.
	state atomic.Int32

	mu      sync.Mutex
	running bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
	edges   *edgeSet
}

// New returns a job that consumes from consumer and finds edges in disc.
// The consumer calls the handler from several goroutines (its lanes keep
// order per target); job adds no worker pool of its own, which would break
// that order.
func New(cfg Config, consumer queue.Consumer, disc registry.Discovery) (*Job, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if consumer == nil {
		return nil, errors.New("job: nil queue consumer")
	}
	if disc == nil {
		return nil, errors.New("job: nil registry discovery")
	}
	return &Job{
		cfg:      cfg,
		consumer: consumer,
		disc:     disc,
		log:      slog.Default(),
		dropLog:  rate.Sometimes{First: 10, Interval: 10 * time.Second},
	}, nil
}

// WithLogger sets the logger (nil: slog.Default()); call it before Run.
func (j *Job) WithLogger(l *slog.Logger) *Job {
	if l == nil {
		l = slog.Default()
	}
	j.log = l
	return j
}

// Run follows the edges in the registry and delivers queued messages to
// them until ctx is done, Close is called or the consumer ends. It returns
// nil when stopped that way. Run may be called once.
func (j *Job) Run(ctx context.Context) error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return errors.New("job: run: closed")
	}
	if j.running {
		j.mu.Unlock()
		return errors.New("job: run: already running")
	}
	j.running = true
	ctx, j.cancel = context.WithCancel(ctx)
	j.done = make(chan struct{})
	j.edges = newEdgeSet(ctx, j.cfg, j.log)
	j.mu.Unlock()

	defer close(j.done)
	defer j.cancel()
	defer j.edges.close()
	if err := j.disc.Watch(ctx, registry.ServiceEdge, j.edges.update); err != nil {
		return fmt.Errorf("job: watch edges: %w", err)
	}
	// No consuming on an incomplete view: with etcd unreachable at start
	// the view is empty, and room pushes to nobody would be acknowledged
	// away, keys pushes held for edges that are only unknown.
	if w, ok := j.disc.(registry.ReadyWaiter); ok {
		j.state.Store(stateWaitingForEdges)
		j.log.Info("job: waiting for a complete view of the edges before consuming")
		if err := w.WaitReady(ctx, registry.ServiceEdge); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("job: wait for edges: %w", err)
		}
		j.log.Info("job: edges known, consuming", "edges", len(j.edges.all()))
	}
	j.edges.markReady()
	j.state.Store(stateConsuming)
	if err := j.consumer.Run(ctx, j.handle); err != nil && ctx.Err() == nil {
		return fmt.Errorf("job: consume: %w", err)
	}
	return nil
}

// Close stops Run, waits until it returned (messages in the middle of a
// fan-out stay unacknowledged) and releases every edge client. It does not
// close the consumer, which the caller owns.
func (j *Job) Close() error {
	j.mu.Lock()
	j.closed = true
	running, cancel, done := j.running, j.cancel, j.done
	j.mu.Unlock()
	if running {
		cancel()
		<-done
	}
	return nil
}

// handle fans one delivery out and waits until every target edge accepted
// it, parked it (the edge is down: it gets it when it answers) or was
// given up on.
func (j *Job) handle(ctx context.Context, d *queue.Delivery) (err error) {
	m := d.Msg
	if m != nil && tracing.On() {
		var span trace.Span
		ctx, span = tracing.StartSpan(tracing.Extract(ctx, m.Trace), "goim.deliver", trace.SpanKindConsumer,
			tracing.MsgID.String(m.Id), tracing.Kind.String(queue.KindLabel(m.Kind)))
		defer func() { tracing.End(span, err) }()
	}
	if m == nil {
		pushesTotal.WithLabelValues("unknown", resultPoison).Inc()
		poisonTotal.WithLabelValues("unknown", poisonInvalid).Inc()
		return fmt.Errorf("%w: delivery %s carries no message", queue.ErrPoison, d.ID)
	}
	kind := queue.KindLabel(m.Kind)
	targets, lane, speed, err := j.targets(ctx, m)
	if err != nil {
		pushesTotal.WithLabelValues(kind, resultPoison).Inc()
		poisonTotal.WithLabelValues(kind, poisonInvalid).Inc()
		return err
	}
	if len(targets) == 0 {
		if ctx.Err() != nil {
			pushesTotal.WithLabelValues(kind, resultAborted).Inc()
			return fmt.Errorf("job: %s message %s: %w", kind, m.Id, ctx.Err())
		}
		if m.Kind == common.PushKind_KEYS {
			pushesTotal.WithLabelValues(kind, resultUnknownEdge).Inc()
			lostTotal.WithLabelValues(kind, resultUnknownEdge).Inc()
			j.dropLog.Do(func() {
				j.log.Warn("job: keys push lost: its edge is not registered and did not come back within edge_grace",
					"edge", m.Server, "msg_id", m.Id, "keys", len(m.Keys), "edge_grace", j.cfg.EdgeGrace)
			})
		} else {
			pushesTotal.WithLabelValues(kind, resultNoTarget).Inc()
		}
		observeDelay(kind, m)
		return nil
	}

	w := newWaiter(len(targets))
	for _, e := range targets {
		t := newTask(ctx, m, speed, w)
		switch r := e.trySubmit(t, lane); r {
		case "":
		case sendFull:
			// Wait for room without holding up the other edges.
			go e.submit(t, lane)
		default:
			e.finish(t, r, nil)
		}
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		pushesTotal.WithLabelValues(kind, resultAborted).Inc()
		return fmt.Errorf("job: %s message %s: %w", kind, m.Id, ctx.Err())
	}
	if w.aborted.Load() > 0 {
		pushesTotal.WithLabelValues(kind, resultAborted).Inc()
		return fmt.Errorf("job: %s message %s: stopped mid fan-out: %w", kind, m.Id, context.Canceled)
	}
	if ref := w.refused.Load(); ref != nil {
		// The queue logs it once (with this error, which names the
		// message) and moves it to its dead letters.
		pushesTotal.WithLabelValues(kind, resultPoison).Inc()
		poisonTotal.WithLabelValues(kind, poisonRefused).Inc()
		return fmt.Errorf("%w: %s message %s refused by edge %s: code %d: %s",
			queue.ErrPoison, kind, m.Id, ref.node, ref.err.GetCode(), ref.err.GetMessage())
	}
	switch failed := int(w.failed.Load()); {
	case failed == 0 && w.parked.Load() > 0:
		pushesTotal.WithLabelValues(kind, resultParked).Inc()
	case failed == 0:
		pushesTotal.WithLabelValues(kind, resultOK).Inc()
	case failed < len(targets):
		pushesTotal.WithLabelValues(kind, resultPartial).Inc()
	default:
		pushesTotal.WithLabelValues(kind, resultFailed).Inc()
	}
	observeDelay(kind, m)
	return nil
}

// targets picks the edges for m, the lane key that keeps its target's
// messages in order, and each edge's broadcast speed. Messages that name
// nothing deliverable are poison.
func (j *Job) targets(ctx context.Context, m *common.PushMsg) (edges []*edgeConn, lane string, speed int32, err error) {
	switch m.Kind {
	case common.PushKind_KEYS:
		if m.Server == "" || len(m.Keys) == 0 {
			return nil, "", 0, fmt.Errorf("%w: keys message %s needs a server and keys", queue.ErrPoison, m.Id)
		}
		if e := j.edges.awaitNode(ctx, m.Server); e != nil {
			edges = []*edgeConn{e}
		}
		return edges, "keys:" + m.Keys[0], 0, nil
	case common.PushKind_ROOM:
		if m.Room == "" {
			return nil, "", 0, fmt.Errorf("%w: room message %s names no room", queue.ErrPoison, m.Id)
		}
		all := j.edges.all()
		if j.cfg.RoomTargeting != TargetMembers {
			return all, "room:" + m.Room, 0, nil
		}
		stale := 3 * j.cfg.RoomsRefresh
		for _, e := range all {
			if e.rooms.mayHold(m.Room, stale) {
				edges = append(edges, e)
			}
		}
		return edges, "room:" + m.Room, 0, nil
	case common.PushKind_BROADCAST:
		all := j.edges.all()
		return all, "broadcast", edgeSpeed(m.Speed, len(all)), nil
	}
	return nil, "", 0, fmt.Errorf("%w: message %s has unknown kind %d", queue.ErrPoison, m.Id, m.Kind)
}

// edgeSpeed is one edge's share of a cluster-wide broadcast rate: an even
// split, at least 1 so a slow rate over many edges does not turn into "no
// limit" (0). No edges, or no limit asked, is 0.
func edgeSpeed(speed int32, edges int) int32 {
	if speed <= 0 || edges <= 0 {
		return 0
	}
	return max(1, speed/int32(edges))
}

// observeDelay records how long the push took from logic to the edges.
func observeDelay(kind string, m *common.PushMsg) {
	if m.EnqueuedUnixNano > 0 {
		pushDelay.WithLabelValues(kind).Observe(time.Since(time.Unix(0, m.EnqueuedUnixNano)).Seconds())
	}
}
