package queue

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics shared by every queue implementation, labelled by queue kind
// ("memory", "redis", "kafka"). They are exported so the implementation
// packages, which import this one, can record them.
var (
	// PublishedTotal counts messages a queue accepted.
	PublishedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_queue_published_total",
		Help: "Messages accepted by a queue, by queue kind.",
	}, []string{"queue"})
	// PublishErrorsTotal counts publishes that failed.
	PublishErrorsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_queue_publish_errors_total",
		Help: "Publishes that failed (queue down, full, closed), by queue kind.",
	}, []string{"queue"})
	// ConsumedTotal counts messages handled and acknowledged.
	ConsumedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_queue_consumed_total",
		Help: "Messages handled and acknowledged, by queue kind.",
	}, []string{"queue"})
	// RedeliveredTotal counts handler failures that led to another attempt.
	RedeliveredTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_queue_redelivered_total",
		Help: "Deliveries retried after a handler error or a dead consumer, by queue kind.",
	}, []string{"queue"})
	// PoisonTotal counts messages moved aside as poison.
	PoisonTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_queue_poison_total",
		Help: "Messages moved aside as poison (undecodable, ErrPoison, or out of attempts), by queue kind.",
	}, []string{"queue"})
	// ConsumeErrorsTotal counts failures talking to the queue itself.
	ConsumeErrorsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_queue_consume_errors_total",
		Help: "Errors reading from or acknowledging to the queue backend, by queue kind.",
	}, []string{"queue"})
	// Lag is how many messages wait to be consumed.
	Lag = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "goim_queue_lag",
		Help: "Messages waiting to be consumed (memory: buffered; redis: group lag; kafka: high watermark minus consumed offset), by queue kind.",
	}, []string{"queue"})
	// HandleSeconds times one handler call.
	HandleSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goim_queue_handle_seconds",
		Help:    "Time the handler took for one delivery, by queue kind.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"queue"})
)
