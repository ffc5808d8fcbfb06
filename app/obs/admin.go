package obs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/common/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Routes of the operational endpoints, the same on every role.
const (
	PathHealthz = "/healthz"
	PathReadyz  = "/readyz"
	PathMetrics = "/metrics"
)

// Mux serves /healthz, /readyz and /metrics (the default Prometheus
// registry, where every package registers its goim_ metrics).
func Mux(h *Health) *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET "+PathHealthz, h.HealthzHandler())
	m.Handle("GET "+PathReadyz, h.ReadyzHandler())
	m.Handle("GET "+PathMetrics, promhttp.Handler())
	return m
}

// RegisterLiveness adds /healthz, and only /healthz, to a public Hertz
// server (logic's HTTP API port): it says no more than "the process
// answers", so a load balancer in front of the API can probe the port it
// routes to. /readyz and /metrics stay on the admin address, which binds
// loopback unless configured otherwise.
func RegisterLiveness(hz *server.Hertz, h *Health) {
	hz.GET(PathHealthz, adaptor.HertzHandler(h.HealthzHandler()))
}

// Admin is a small HTTP server for the operational endpoints (Mux).
type Admin struct {
	srv *http.Server
	ln  net.Listener
}

// StartAdmin listens on addr and serves Mux(h) until Shutdown; log (nil:
// slog.Default()) gets the server's errors.
func StartAdmin(addr string, h *Health, log *slog.Logger) (*Admin, error) {
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("obs: admin listen %s: %w", addr, err)
	}
	a := &Admin{
		ln: ln,
		srv: &http.Server{
			Handler:           Mux(h),
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return a, nil
}

// Addr is the bound address.
func (a *Admin) Addr() string { return a.ln.Addr().String() }

// Shutdown stops the server, waiting for in-flight scrapes until ctx ends.
func (a *Admin) Shutdown(ctx context.Context) error {
	return a.srv.Shutdown(ctx)
}
