package etcdreg

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricRegistered = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "goim_registry_registered",
		Help: "1 while this node's registration lease is alive in etcd, else 0.",
	}, []string{"service"})
	metricRegistrations = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_registry_registrations_total",
		Help: "Successful (re-)registrations with a new lease; more than one means the node lost its lease and came back.",
	}, []string{"service"})
	metricRegisterErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_registry_register_errors_total",
		Help: "Failed registration attempts (each is retried with backoff).",
	}, []string{"service"})
	metricInstances = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "goim_registry_instances",
		Help: "Nodes currently discovered per service.",
	}, []string{"service"})
	metricRelists = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_registry_relists_total",
		Help: "Full re-lists of a service prefix, by reason (start, compacted, watch_error).",
	}, []string{"service", "reason"})
)
