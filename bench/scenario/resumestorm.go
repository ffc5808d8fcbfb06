package scenario

import (
	"context"
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/payload"
	"github.com/goim-edge/goim-edge/bench/push"
	"github.com/goim-edge/goim-edge/bench/report"
)

// verdictWait bounds the wait for the devices' room verdicts after a
// connect; a device still without one then counts as "no verdict".
const verdictWait = 60 * time.Second

// resumeStorm is the reconnect storm after an edge dies (issue 13): every
// positioned device of the room goes away at once, Messages are pushed to
// the room meanwhile, then every device reconnects at once with its
// positions. It measures, per device, its reconnect to its verdict with
// every missed message recovered, and checks each got them exactly once.
func (s *session) resumeStorm(ctx context.Context) error {
	g := s.group()
	up := s.res.Connections.Up
	s.setPhase("first verdicts")
	if !s.awaitVerdicts(ctx, up) {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("Not every device had its room verdict after the first connect within %v.", verdictWait))
	}
	s.setPhase("disconnecting")
	verdicts, err := g.Disconnect(ctx, time.Minute)
	if err != nil {
		return err
	}
	if !s.o.StormInflight {
		// Nobody connected means nobody in the server's view either.
		s.awaitMetric(ctx, metricSessions, "the server had no session", func(v float64) bool { return v == 0 })
	}
	handled, _ := s.readMetric(ctx, metricJobPushes)
	p, err := s.pusher()
	if err != nil {
		return err
	}
	defer p.Close()
	room := s.o.Room
	members := s.members()[room]
	s.pushKind = push.Room
	s.setPhase("pushing to nobody")
	s.pushStart = time.Now()
	plan := push.Plan{Rate: s.o.Rate, Duration: s.o.Duration, Count: s.o.Messages, InFlight: s.o.InFlight, Size: s.o.Size}
	s.outcome = push.Run(ctx, p, plan, func(uint64) (push.Target, uint32, int64) {
		return push.Target{Kind: push.Room, Op: s.o.Op, Room: room}, payload.AnyDevice, int64(members)
	}, &s.live)
	if len(s.outcome.Sent) == 0 {
		return fmt.Errorf("every push failed: %v", s.outcome.Errors)
	}
	expect := len(s.outcome.Sent)
	if !s.o.StormInflight {
		// A push the server is still delivering when devices come back
		// would race their recovery; this scenario measures recovery.
		s.awaitMetric(ctx, metricJobPushes, "the server had handled every push", func(v float64) bool { return v >= handled+float64(s.outcome.Attempted) })
	}

	s.setPhase("reconnecting")
	s.sampleCPU(true)
	s.meterStart(ctx, "reconnect and recovery")
	timeout := s.o.ConnectTimeout + time.Duration(s.o.Conns/500+30)*time.Second
	reports, err := g.Reconnect(ctx, expect, timeout)
	if err != nil {
		return err
	}
	reconnected := 0
	for _, r := range reports {
		reconnected += r.Up
	}
	s.setPhase("recovering")
	if !s.awaitVerdicts(ctx, verdicts+reconnected) {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("Stopped waiting for verdicts after %v.", verdictWait))
	}
	s.sampleCPU(false)
	s.meterEnd(ctx)
	s.reconnects = reports
	s.expect = expect
	return nil
}

// awaitVerdicts waits until the devices got n room verdicts in all, or
// verdictWait passed (false).
func (s *session) awaitVerdicts(ctx context.Context, n int) bool {
	g := s.group()
	deadline := time.Now().Add(verdictWait)
	for g.Progress().Verdicts < n {
		if time.Now().After(deadline) || g.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}

// stormResume completes the merged recovery account with the reconnect
// phase and replaces push → device latency, which for messages recovered
// after a deliberate absence measures the absence.
func (s *session) stormResume() {
	r := s.res.Resume
	if r == nil {
		return
	}
	r.Expect = s.expect
	c := &report.Connections{Target: s.res.Connections.Up, Procs: s.o.Procs, Sources: len(s.o.Sources), Transport: s.o.Transport, Errors: map[string]int{}}
	lat := hist.New()
	var first, last int64
	for _, rep := range s.reconnects {
		c.Up += rep.Up
		c.Failed += rep.Failed
		lat.Merge(rep.Latency)
		for k, v := range rep.Errors {
			c.Errors[k] += v
		}
		if rep.FirstDial > 0 && (first == 0 || rep.FirstDial < first) {
			first = rep.FirstDial
		}
		last = max(last, rep.LastAuth)
	}
	if last > first && c.Up > 0 {
		c.PerSecond = float64(c.Up) / time.Duration(last-first).Seconds()
	}
	c.Latency = lat.Summary()
	if len(c.Errors) == 0 {
		c.Errors = nil
	}
	r.Reconnect = c
	s.res.Latency, s.res.Reach = nil, nil
}
