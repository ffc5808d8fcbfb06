package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/goim-edge/goim-edge/app/obs"
)

// adminServer is a role's operational port (/healthz, /readyz, /metrics;
// edge.admin_addr, logic.admin_addr, job.admin_addr; standalone serves
// logic's): bound with the role's other ports, served once they are all
// bound. It takes no credential, so the defaults bind loopback and a
// non-loopback address is logged as exposed.
type adminServer struct {
	ln     net.Listener
	srv    *http.Server
	served bool
}

// bindAdmin takes role's admin port; addr "" disables it (nil, nil).
func bindAdmin(role, addr string, h *obs.Health, log *slog.Logger) (*adminServer, error) {
	if addr == "" {
		log.Info(role + ".admin_addr is empty: no /readyz or /metrics")
		return nil, nil
	}
	ln, err := listen(role, "admin", addr)
	if err != nil {
		return nil, err
	}
	if loopbackOnly(ln.Addr()) {
		log.Info("admin port on loopback only: /healthz /readyz /metrics", "addr", ln.Addr().String())
	} else {
		log.Warn("admin port is exposed beyond loopback: /readyz and /metrics answer anyone who reaches "+
			ln.Addr().String()+" without a credential; keep it on a private network or firewall it",
			"addr", ln.Addr().String(), "key", role+".admin_addr")
	}
	return &adminServer{ln: ln, srv: &http.Server{
		Handler:           obs.Mux(h),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}, nil
}

// loopbackOnly reports whether a bound address is reachable from this
// host only.
func loopbackOnly(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
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
