package logic

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	pushesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_pushes_total",
		Help: "Push requests accepted, by kind (keys, mids, room, all).",
	}, []string{"kind"})
	pushErrorsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_push_errors_total",
		Help: "Push requests that failed, by kind and goim code (-400, -500).",
	}, []string{"kind", "code"})
	enqueuedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_enqueued_messages_total",
		Help: "Queue messages published, by kind (keys, room, broadcast).",
	}, []string{"kind"})
	unknownTargetsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_logic_push_unknown_targets_total",
		Help: "Keys or mids named by pushes that had no route (nothing to deliver).",
	})
	connectsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_connects_total",
		Help: "Edge Connect calls, by result (ok, refused, error).",
	}, []string{"result"})
	disconnectsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_disconnects_total",
		Help: "Edge Disconnect calls, by result (removed, stale, error); stale means a newer route was kept.",
	}, []string{"result"})
	heartbeatsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_heartbeats_total",
		Help: "Edge route Heartbeat calls, by result (renewed, restored, stale, error).",
	}, []string{"result"})
	renewOnlineTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_renew_online_total",
		Help: "Edge RenewOnline reports, by result (ok, error).",
	}, []string{"result"})
	receivesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_receives_total",
		Help: "Upstream device messages, by result (ok, error, busy: refused over receive.parallel).",
	}, []string{"result"})
	restoreCallsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_restore_calls_total",
		Help: "Edge Restore calls (pages of routes re-registered after the store lost its data), by result (ok, error).",
	}, []string{"result"})
	routesRestoredTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_logic_routes_restored_total",
		Help: "Routes written by edge Restore calls (routes pointing at another edge are not counted).",
	})
	epochChangesTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_logic_store_epoch_changes_total",
		Help: "Times this logic saw the store's epoch change (the store lost its data).",
	})
)
