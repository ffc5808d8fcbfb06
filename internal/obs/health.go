package obs

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Check reports whether one dependency is usable; nil means yes.
type Check func(ctx context.Context) error

// Health answers /healthz (the process is alive) and /readyz (it should get
// traffic: started, not shutting down, and every check passing). Liveness
// never depends on Redis or etcd, so an outage makes nodes unready instead
// of getting them restarted in a loop.
type Health struct {
	mu     sync.Mutex
	checks map[string]Check

	started  atomic.Bool
	draining atomic.Bool
	// timeout bounds each readiness check.
	timeout time.Duration
}

// NewHealth returns a Health that is not ready until SetStarted.
func NewHealth() *Health {
	return &Health{checks: map[string]Check{}, timeout: 2 * time.Second}
}

// AddCheck registers a readiness check under name.
func (h *Health) AddCheck(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = c
}

// SetStarted marks the node as serving.
func (h *Health) SetStarted() { h.started.Store(true) }

// SetDraining makes /readyz fail for good: the node is shutting down.
func (h *Health) SetDraining() { h.draining.Store(true) }

// Draining reports whether shutdown has begun.
func (h *Health) Draining() bool { return h.draining.Load() }

// ReadyReport is the /readyz body.
type ReadyReport struct {
	Ready  bool              `json:"ready"`
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// Ready runs the checks and reports.
func (h *Health) Ready(ctx context.Context) ReadyReport {
	switch {
	case h.draining.Load():
		return ReadyReport{Status: "draining"}
	case !h.started.Load():
		return ReadyReport{Status: "starting"}
	}
	h.mu.Lock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	checks := make([]Check, len(names))
	sort.Strings(names)
	for i, n := range names {
		checks[i] = h.checks[n]
	}
	h.mu.Unlock()

	r := ReadyReport{Ready: true, Status: "ok", Checks: map[string]string{}}
	results := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, h.timeout)
			defer cancel()
			results[i] = c(cctx)
		}()
	}
	wg.Wait()
	for i, err := range results {
		if err != nil {
			r.Ready, r.Status = false, "unready"
			r.Checks[names[i]] = err.Error()
		} else {
			r.Checks[names[i]] = "ok"
		}
	}
	return r
}

// HealthzHandler answers 200 while the process runs.
func (h *Health) HealthzHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// ReadyzHandler answers 200 when ready, 503 with the failing checks when not.
func (h *Health) ReadyzHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := h.Ready(r.Context())
		code := http.StatusOK
		if !rep.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, rep)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
