package redisstore

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

var (
	opSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goim_store_redis_op_seconds",
		Help:    "Duration of Redis store operations (one or two round trips each).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"op"})
	opErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_store_redis_errors_total",
		Help: "Redis store operations that failed against Redis (invalid arguments are not counted).",
	}, []string{"op"})
)

// observe records one operation; use as defer observe(op, time.Now(), &err).
func observe(op string, start time.Time, err *error) {
	opSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if *err != nil && !errors.Is(*err, store.ErrInvalid) {
		opErrors.WithLabelValues(op).Inc()
	}
}
