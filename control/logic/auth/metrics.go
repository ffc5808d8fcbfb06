package auth

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	authTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_auth_total",
		Help: "Auth tokens judged, by mode and result (ok, refused, error).",
	}, []string{"mode", "result"})
	webhookCacheTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_auth_webhook_cache_total",
		Help: "Webhook auth cache lookups by result (hit, miss).",
	}, []string{"result"})
	webhookSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "goim_auth_webhook_seconds",
		Help:    "Duration of webhook auth requests.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
)
