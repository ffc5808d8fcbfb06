package edge

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are process-wide (promauto on the default registry); main serves
// them on /metrics.
var (
	connectionsGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "goim_edge_connections",
		Help: "Open device connections by transport (tcp, ws), authenticated or not.",
	}, []string{"transport"})
	refusedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_connections_refused_total",
		Help: "Device connections refused before auth, by transport (tcp, ws) and reason (max_connections, per_ip, accept_rate, draining).",
	}, []string{"transport", "reason"})
	sessionsGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "goim_edge_sessions",
		Help: "Authenticated device connections.",
	})
	roomsGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "goim_edge_rooms",
		Help: "Rooms with at least one member on this edge.",
	})
	pushesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_pushes_total",
		Help: "Push requests received over RPC, by kind (keys, room, broadcast).",
	}, []string{"kind"})
	deliveredTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_delivered_total",
		Help: "Messages queued to connections, by kind (keys, room, broadcast).",
	}, []string{"kind"})
	dropsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_edge_drops_total",
		Help: "Messages dropped because a connection's send queue was full.",
	})
	roomFlushesTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_edge_room_flushes_total",
		Help: "Room batches written (each one encoded once for all members).",
	})
	closesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_closes_total",
		Help: "Connections closed, by reason.",
	}, []string{"reason"})
	authTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_auth_total",
		Help: "Auth attempts by result (ok, refused, error).",
	}, []string{"result"})
	logicCallsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_logic_calls_total",
		Help: "Background calls to logic made for connections, by method (heartbeat = route renewal, disconnect).",
	}, []string{"method"})
	logicErrorsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_logic_errors_total",
		Help: "Failed calls to logic, by method.",
	}, []string{"method"})
	upstreamRefusedTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_edge_upstream_refused_total",
		Help: "Device frames dropped by the per-connection upstream rate limit (upstream_rate, upstream_burst).",
	})
	inputOverflowTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_edge_input_overflows_total",
		Help: "Connections closed because their unprocessed input passed max_input_buffer.",
	})
	roomRefusedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_room_refused_total",
		Help: "Room changes (op 12) and joins (op 22) refused because the room is outside the device's grants, by op.",
	}, []string{"op"})
	restoresTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_edge_restores_total",
		Help: "Route restores completed: every route re-registered in logic after the route store lost its data (a new store epoch).",
	})
	routesRestoredTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_edge_routes_restored_total",
		Help: "Routes written back by route restores (keys that moved to another edge are not counted).",
	})
	upstreamTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_edge_upstream_total",
		Help: "Upstream messages (op 4 and business ops) forwarded to logic.",
	})
)
