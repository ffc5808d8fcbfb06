package rpcauth

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are process-wide (promauto on the default registry), like the
// rest of goim-edge's.
var (
	authRefusedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_rpc_auth_refused_total",
		Help: "Kitex calls refused for their rpc secret, by service (Edge, Logic, Push) and reason (missing, wrong).",
	}, []string{"service", "reason"})
	payloadRefusedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_rpc_payload_refused_total",
		Help: "Kitex messages refused before their body was read, by server and reason (too_large, unframed).",
	}, []string{"server", "reason"})
)
