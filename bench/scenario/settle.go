package scenario

import (
	"context"
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/bench/procstat"
)

// goim-edge metrics resume-storm waits on, so that its pushes happen while
// the server holds no session and are all handled before anyone
// reconnects. Other servers lack them; the run then notes it and goes on.
const (
	metricSessions  = "goim_edge_sessions"
	metricJobPushes = "goim_job_pushes_total"
)

// settleWait bounds each wait on the server's metrics.
const settleWait = 30 * time.Second

// readMetric is one metric of the server (false: unknown).
func (s *session) readMetric(ctx context.Context, name string) (float64, bool) {
	if s.o.MetricsURL == "" {
		return 0, false
	}
	m, err := procstat.Scrape(ctx, s.o.MetricsURL)
	if err != nil {
		return 0, false
	}
	v, ok := m[name]
	return v, ok
}

// awaitMetric polls the server's metric name until ok holds, noting in the
// report when it cannot tell or gave up after settleWait.
func (s *session) awaitMetric(ctx context.Context, name, what string, ok func(float64) bool) {
	deadline := time.Now().Add(settleWait)
	for {
		v, known := s.readMetric(ctx, name)
		switch {
		case !known:
			s.res.Notes = append(s.res.Notes, fmt.Sprintf("Could not wait until %s: no %s from the server's metrics.", what, name))
			return
		case ok(v):
			return
		case time.Now().After(deadline):
			s.res.Notes = append(s.res.Notes, fmt.Sprintf("Gave up waiting until %s after %v (%s = %g).", what, settleWait, name, v))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}
