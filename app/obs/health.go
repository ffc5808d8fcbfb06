package obs

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Check reports whether one dependency is usable; nil means yes. Checks
// may do I/O (a Redis ping): Health runs them in the background, never on
// a request.
type Check func(ctx context.Context) error

// Gate reports whether the process itself takes traffic; nil means yes.
// A gate reads in-process state only (an atomic flag, a registry cache):
// /readyz calls it on every request, so it must not block.
type Gate func() error

// Defaults of the background checks.
const (
	// DefaultCheckInterval is how often the checks run.
	DefaultCheckInterval = 2 * time.Second
	// DefaultCheckTimeout bounds each run of a check.
	DefaultCheckTimeout = 2 * time.Second
)

// errPending is the state of a check that has not completed a run yet.
var errPending = errors.New("not run yet")

// Health answers /healthz (the process is alive) and /readyz (it should get
// traffic: started, not shutting down, every gate open and every check
// passing).
//
// Guarantees:
//   - Liveness never depends on Redis or etcd, so an outage makes nodes
//     unready instead of getting them restarted in a loop.
//   - /readyz costs no I/O: checks run in the background every interval
//     (Start), and a request reads their last results. A result older than
//     two intervals plus the timeout (a check that ignores its deadline)
//     counts as failing.
//   - /readyz never carries error text: its body names the failing checks
//     and gates only; the errors go to the log, once per change of state.
type Health struct {
	mu      sync.Mutex
	checks  map[string]Check
	gates   map[string]Gate
	results map[string]result
	// gateErr is each gate's last reported state, to log changes only.
	gateErr map[string]string

	started  atomic.Bool
	draining atomic.Bool

	interval, timeout time.Duration
	log               *slog.Logger
	stop              chan struct{}
	done              chan struct{}
	running           bool
	closed            bool
}

// result is a check's last outcome.
type result struct {
	err error
	at  time.Time
}

// NewHealth returns a Health that is not ready until SetStarted, with the
// default interval and timeout of its checks.
func NewHealth() *Health {
	return &Health{
		checks:   map[string]Check{},
		gates:    map[string]Gate{},
		results:  map[string]result{},
		gateErr:  map[string]string{},
		interval: DefaultCheckInterval,
		timeout:  DefaultCheckTimeout,
		log:      slog.Default(),
	}
}

// WithTiming sets how often the checks run and how long one run may take;
// call it before Start. Non-positive values keep the defaults.
func (h *Health) WithTiming(interval, timeout time.Duration) *Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	if interval > 0 {
		h.interval = interval
	}
	if timeout > 0 {
		h.timeout = timeout
	}
	return h
}

// AddCheck registers a background readiness check under name. Until its
// first run completes it counts as failing.
func (h *Health) AddCheck(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = c
	h.results[name] = result{err: errPending, at: time.Now()}
}

// AddGate registers a readiness gate under name, evaluated on every
// /readyz request.
func (h *Health) AddGate(name string, g Gate) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gates[name] = g
}

// Start runs the checks now and then every interval until Close, logging
// to log. Calling it again does nothing.
func (h *Health) Start(log *slog.Logger) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running || h.closed {
		return
	}
	if log != nil {
		h.log = log
	}
	h.running = true
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	go h.loop(h.interval)
}

// Close stops the background checks and waits for a run in progress (each
// check's context is cancelled).
func (h *Health) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	running := h.running
	h.mu.Unlock()
	if running {
		close(h.stop)
		<-h.done
	}
}

func (h *Health) loop(interval time.Duration) {
	defer close(h.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.stop
		cancel()
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		h.RunChecks(ctx)
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
	}
}

// RunChecks runs every check once, concurrently, each within the timeout,
// and stores the results; the background loop calls it every interval.
func (h *Health) RunChecks(ctx context.Context) {
	h.mu.Lock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	checks := make([]Check, len(names))
	for i, n := range names {
		checks[i] = h.checks[n]
	}
	timeout := h.timeout
	h.mu.Unlock()

	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			errs[i] = c(cctx)
		}()
	}
	wg.Wait()
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, n := range names {
		prev := h.results[n].err
		h.results[n] = result{err: errs[i], at: now}
		switch {
		case errs[i] != nil && (prev == nil || prev == errPending || prev.Error() != errs[i].Error()):
			h.log.Warn("readiness check failing", "check", n, "err", errs[i])
		case errs[i] == nil && prev != nil && prev != errPending:
			h.log.Info("readiness check passing again", "check", n)
		}
	}
}

// SetStarted marks the node as serving.
func (h *Health) SetStarted() { h.started.Store(true) }

// SetDraining makes /readyz fail for good: the node is shutting down.
func (h *Health) SetDraining() { h.draining.Store(true) }

// Draining reports whether shutdown has begun.
func (h *Health) Draining() bool { return h.draining.Load() }

// Readiness states of ReadyReport.Status.
const (
	StatusOK       = "ok"
	StatusStarting = "starting"
	StatusDraining = "draining"
	StatusUnready  = "unready"
)

// ReadyReport is the /readyz body: whether the node is ready, a one-word
// status, and the names (only the names) of the failing checks and gates.
type ReadyReport struct {
	Ready   bool     `json:"ready"`
	Status  string   `json:"status"`
	Failing []string `json:"failing,omitempty"`
}

// Ready reports from the gates and the checks' last results; it does no
// I/O.
func (h *Health) Ready() ReadyReport {
	switch {
	case h.draining.Load():
		return ReadyReport{Status: StatusDraining}
	case !h.started.Load():
		return ReadyReport{Status: StatusStarting}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var failing []string
	stale := time.Now().Add(-(2*h.interval + h.timeout))
	for n, r := range h.results {
		if r.err != nil || (h.running && r.at.Before(stale)) {
			failing = append(failing, n)
		}
	}
	for n, g := range h.gates {
		err := g()
		msg := ""
		if err != nil {
			msg = err.Error()
			failing = append(failing, n)
		}
		if msg != h.gateErr[n] {
			if err != nil {
				h.log.Warn("readiness gate closed", "gate", n, "err", err)
			} else {
				h.log.Info("readiness gate open again", "gate", n)
			}
			h.gateErr[n] = msg
		}
	}
	if len(failing) > 0 {
		sort.Strings(failing)
		return ReadyReport{Status: StatusUnready, Failing: failing}
	}
	return ReadyReport{Ready: true, Status: StatusOK}
}

// HealthzHandler answers 200 while the process runs.
func (h *Health) HealthzHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// ReadyzHandler answers 200 when ready, 503 naming what fails when not.
func (h *Health) ReadyzHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rep := h.Ready()
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
