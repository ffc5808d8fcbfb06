package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/goim-edge/goim-edge/internal/obs"
)

// adminServer is the edge's and job's operational port (/healthz,
// /readyz, /metrics): bound with the role's other ports, served once they
// are all bound.
type adminServer struct {
	ln     net.Listener
	srv    *http.Server
	served bool
}

// bindAdmin takes role's admin port; addr "" disables it (nil, nil).
func bindAdmin(role, addr string, h *obs.Health) (*adminServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := listen(role, "admin", addr)
	if err != nil {
		return nil, err
	}
	return &adminServer{ln: ln, srv: &http.Server{
		Handler:           obs.Mux(h),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}}, nil
}

// serve starts answering on the bound port.
func (a *adminServer) serve(log *slog.Logger) {
	if a == nil {
		return
	}
	a.served = true
	go func() {
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server stopped", "addr", a.ln.Addr().String(), "err", err)
		}
	}()
}

// addr is the bound address, "" when disabled.
func (a *adminServer) addr() string {
	if a == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// shutdown stops serving, waiting for in-flight scrapes until ctx ends,
// or only releases the port when it was never served.
func (a *adminServer) shutdown(ctx context.Context) error {
	if a == nil {
		return nil
	}
	if !a.served {
		return a.ln.Close()
	}
	return a.srv.Shutdown(ctx)
}
