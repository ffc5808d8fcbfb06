package job

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Results of one queue message (goim_job_pushes_total's result label).
const (
	// resultOK: every target edge accepted it.
	resultOK = "ok"
	// resultParked: every target edge accepted it or holds it parked in
	// its outbox (the edge is down, not gone): acknowledged; the parked
	// shares are sent when their edge answers (goim_job_parked_*).
	resultParked = "parked"
	// resultPartial: some target edges were given up on (outbox full,
	// gone); the others accepted or parked it. Counted as lost per edge.
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
	sendFailed   = "failed"   // every attempt failed while the edge was being retired
	sendOverflow = "overflow" // the outbox of a down edge was full
	sendGone     = "gone"     // the edge was retired (left the registry past its grace, moved) first
	sendExpired  = "expired"  // parked for EdgeGrace while the edge stayed down
	sendAborted  = "aborted"  // job stopped
	sendPoison   = "poison"   // the edge refused the message itself (EdgeError)
	// sendParked is not a final outcome: the task waits in a down edge's
	// outbox and its handler no longer waits for it.
	sendParked = "parked"
	// sendFull is not an outcome: the outbox of an edge that answers is
	// full and the handler waits for room.
	sendFull = "full"
)

// Reasons an accepted push was lost for an edge's devices
// (goim_job_lost_total's reason label).
const (
	// lostOutboxFull: the down edge's outbox was full (edge_queue,
	// edge_queue_bytes).
	lostOutboxFull = "outbox_full"
	// lostEdgeDown: parked for edge_grace and the edge stayed down.
	lostEdgeDown = "edge_down"
	// lostEdgeGone: the edge was retired with the message still queued
	// for it (it stayed out of the registry past edge_grace, or moved).
	lostEdgeGone = "edge_gone"
	// lostJobStopped: job stopped (Close) with the message parked, its
	// queue message already acknowledged. A crashed job loses its parked
	// messages the same way, uncounted.
	lostJobStopped = "job_stopped"
)

// lostReason is the loss reason of a final outcome other than ok,
// poison, or aborted before being parked.
func lostReason(result string) string {
	switch result {
	case sendOverflow:
		return lostOutboxFull
	case sendExpired:
		return lostEdgeDown
	case sendAborted:
		return lostJobStopped
	default:
		return lostEdgeGone
	}
}

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
		Help:    "Time from logic accepting a push to every target edge accepting it (or parking it for a down edge, or being given up on).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"kind"})

	edgeRPCSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goim_job_edge_rpc_seconds",
		Help:    "Duration of one RPC attempt from job to an edge, by method and result (ok, error).",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "result"})

	edgeSends = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_edge_sends_total",
		Help: "Messages sent to one edge, by method and outcome (ok, failed, overflow, gone, expired, aborted, poison).",
	}, []string{"method", "result"})

	poisonTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_poison_total",
		Help: "Queue messages job set aside as poison (moved to the queue's dead letters, never retried, never counted against an edge), by kind and reason (invalid, edge_refused).",
	}, []string{"kind", "reason"})

	lostTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_lost_total",
		Help: "Accepted pushes job acknowledged without delivering to a target edge, by kind and reason (unknown_edge: a keys push for an edge that stayed unregistered past edge_grace; outbox_full: a down edge's outbox was full; edge_down: parked for edge_grace while the edge stayed down; edge_gone: queued for an edge that was retired; job_stopped: parked when job stopped).",
	}, []string{"kind", "reason"})

	parkedGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "goim_job_parked",
		Help: "Messages parked in down edges' outboxes: acknowledged on the queue, waiting for their edge to answer again.",
	})

	parkedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_parked_total",
		Help: "Messages parked for a down (or failing) edge, by kind: their handler stopped waiting on that edge.",
	}, []string{"kind"})

	parkedSent = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_job_parked_sent_total",
		Help: "Parked messages delivered once their edge answered again, by kind.",
	}, []string{"kind"})

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
		Help: "Edges whose breaker is open (consecutive failures): their messages are parked in their outbox, one trial RPC per probe interval.",
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
