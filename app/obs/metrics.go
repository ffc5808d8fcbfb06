package obs

import (
	"context"
	"time"

	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	rpcBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

	rpcClientSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goim_rpc_client_duration_seconds",
		Help:    "Latency of Kitex calls this process makes, by callee service, method and result.",
		Buckets: rpcBuckets,
	}, []string{"service", "method", "result"})

	rpcServerSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goim_rpc_server_duration_seconds",
		Help:    "Latency of Kitex calls this process serves, by service, method and result.",
		Buckets: rpcBuckets,
	}, []string{"service", "method", "result"})

	buildInfo = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "goim_build_info",
		Help: "Always 1; labels name the version and the role this process runs.",
	}, []string{"version", "role"})
)

// SetBuildInfo publishes the running version and role.
func SetBuildInfo(version, role string) {
	buildInfo.WithLabelValues(version, role).Set(1)
}

// ClientMetrics is a Kitex client middleware timing every call.
func ClientMetrics(next endpoint.Endpoint) endpoint.Endpoint {
	return timed(rpcClientSeconds, next)
}

// ServerMetrics is a Kitex server middleware timing every served call.
func ServerMetrics(next endpoint.Endpoint) endpoint.Endpoint {
	return timed(rpcServerSeconds, next)
}

func timed(h *prometheus.HistogramVec, next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		start := time.Now()
		err := next(ctx, req, resp)
		service, method := "unknown", "unknown"
		if ri := rpcinfo.GetRPCInfo(ctx); ri != nil {
			if inv := ri.Invocation(); inv != nil {
				service, method = inv.ServiceName(), inv.MethodName()
			}
		}
		result := "ok"
		if err != nil {
			result = "error"
		}
		h.WithLabelValues(service, method, result).Observe(time.Since(start).Seconds())
		return err
	}
}
