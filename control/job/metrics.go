package job

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Results of one queue message (goim_job_pushes_total's result label).
const (
	// resultOK: every target edge accepted it.
	resultOK = "ok"
	// resultPartial: some target edges were given up on (down, hung,
	// overloaded or failing past the retries); the others accepted it.
	resultPartial = "partial"
	// resultFailed: every target edge was given up on.
	resultFailed = "failed"
	// resultNoTarget: nothing to send to (no edges, or no edge has members
	// of the room); acknowledged.
	resultNoTarget = "no_target"
	// resultUnknownEdge: a keys message names an edge that is not
	// registered and did not come back within EdgeGrace (it left, and its
	// devices with it); acknowledged, and counted as lost.
	resultUnknownEdge = "unknown_edge"
	// resultPoison: the message cannot be delivered at all.
	resultPoison = "poison"
	// resultAborted: job stopped before the fan-out finished; not
	// acknowledged, so the queue delivers it again.
	resultAborted = "aborted"
)

// Outcomes of one message on one edge (goim_job_edge_sends_total).
const (
	sendOK       = "ok"
	sendFailed   = "failed"   // every attempt failed
	sendDown     = "down"     // the edge's breaker was open
	sendOverflow = "overflow" // the edge's lane stayed full for RPCTimeout
	sendGone     = "gone"     // the edge left the registry first
	sendAborted  = "aborted"  // job stopped
	sendPoison   = "poison"   // the edge refused the message itself (EdgeError)
)

// Reasons a message is poison (goim_job_poison_total's reason label).
const (
	// poisonInvalid: the message names nothing deliverable.
	poisonInvalid = "invalid"
	// poisonRefused: an edge refused it with an EdgeError.
	poisonRefused = "edge_refused"
)

var (
	pushesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_pushes_total",
		Help: "Queue messages handled by job, by kind (keys, room, broadcast) and result.",
	}, []string{"kind", "result"})

	pushDelay = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goim_job_push_delay_seconds",
		Help:    "Time from logic accepting a push to every target edge accepting it (or being given up on).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"kind"})

	edgeRPCSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goim_job_edge_rpc_seconds",
		Help:    "Duration of one RPC attempt from job to an edge, by method and result (ok, error).",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "result"})

	edgeSends = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_edge_sends_total",
		Help: "Messages sent to one edge, by method and outcome (ok, failed, down, overflow, gone, aborted, poison).",
	}, []string{"method", "result"})

	poisonTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_poison_total",
		Help: "Queue messages job set aside as poison (moved to the queue's dead letters, never retried, never counted against an edge), by kind and reason (invalid, edge_refused).",
	}, []string{"kind", "reason"})

	lostTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_lost_total",
		Help: "Accepted pushes job acknowledged without delivering to a target, by kind and reason (unknown_edge: a keys push for an edge that stayed unregistered past edge_grace).",
	}, []string{"kind", "reason"})

	edgesLeaving = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "goim_job_edges_leaving",
		Help: "Edges out of the registry but still pushed to during their grace period (edge_grace).",
	})

	edgeSlowCalls = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_edge_slow_calls_total",
		Help: "Edge RPCs that succeeded but took longer than slow_call; each counts towards the edge's breaker like a failure.",
	}, []string{"method"})

	edgeRetries = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_job_edge_retries_total",
		Help: "RPCs to edges retried after a failure.",
	})

	edgesGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "goim_job_edges",
		Help: "Edges job currently has a client for.",
	})

	edgesDown = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "goim_job_edges_down",
		Help: "Edges whose breaker is open (consecutive failures): given up on at once, but for one trial message per probe interval.",
	})

	roomBatchSize = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "goim_job_room_batch_messages",
		Help:    "Room messages carried by one PushRoom RPC.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	})

	roomsPollErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_job_rooms_poll_errors_total",
		Help: "Failed Rooms polls of edges (room targeting by members).",
	})
)
