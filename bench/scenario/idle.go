package scenario

import (
	"context"
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/bench/procstat"
	"github.com/goim-edge/goim-edge/bench/report"
)

// memSample is the server's memory at one moment.
type memSample struct {
	rss      uint64
	heap     uint64
	heapOK   bool
	cpu      float64
	heapNote string
	// lastGC is the server's last GC (unix seconds; 0 unknown).
	lastGC float64
	// whole is the cluster reading behind the figures (Meter runs).
	whole *report.Sample
}

func (s *session) sampleMemory(ctx context.Context) (memSample, error) {
	if s.o.Meter != nil {
		// A cluster: every server process and backend together, so the
		// per-device figure is what the whole system pays.
		smp, err := s.o.Meter.Sample(ctx)
		if err != nil {
			return memSample{}, err
		}
		rss, heap, cpu, ok := wholeMemory(smp)
		m := memSample{rss: rss, heap: heap, heapOK: ok, cpu: cpu, whole: &smp}
		if !ok {
			m.heapNote = "a Go role's /metrics could not be read"
		}
		return m, nil
	}
	p, err := procstat.Read(s.o.TargetPID)
	if err != nil {
		return memSample{}, err
	}
	m := memSample{rss: p.RSS, cpu: p.CPUSeconds}
	if s.o.MetricsURL != "" {
		vals, err := procstat.Scrape(ctx, s.o.MetricsURL)
		switch v, ok := vals[procstat.HeapInuse]; {
		case err != nil:
			m.heapNote = err.Error()
		case !ok:
			m.heapNote = fmt.Sprintf("%s has no %s", s.o.MetricsURL, procstat.HeapInuse)
		default:
			m.heap, m.heapOK = uint64(v), true
			m.lastGC = vals[procstat.LastGC]
		}
	}
	return m, nil
}

// idle measures memory per connection: the server's RSS and Go heap before
// any device connects and after all have, settled.
func (s *session) idle(ctx context.Context) error {
	before, err := s.sampleMemory(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := s.connect(ctx); err != nil {
		return err
	}
	defer s.teardown()
	s.setPhase("settling")
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(s.o.Settle):
	}
	after, err := s.sampleMemory(ctx)
	if err != nil {
		return err
	}
	connected := time.Unix(0, s.lastAuth())
	gcAfter := func(m memSample) bool { return m.lastGC > 0 && time.Unix(0, int64(m.lastGC*1e9)).After(connected) }
	if after.heapOK && !gcAfter(after) && s.o.GCWait > 0 {
		// Wait for the server's next GC (Go forces one every 2 minutes),
		// so the heap figure is live memory, not connect-time garbage.
		s.setPhase("waiting for the server's GC")
		deadline := time.Now().Add(s.o.GCWait)
		for !gcAfter(after) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
			if after, err = s.sampleMemory(ctx); err != nil {
				return err
			}
		}
	}
	up := s.res.Connections.Up
	mem := &report.Memory{Conns: up, RSSBefore: before.rss, RSSAfter: after.rss}
	mem.RSSPerConn = perConn(before.rss, after.rss, up)
	if before.heapOK && after.heapOK {
		mem.HeapKnown = true
		mem.HeapBefore, mem.HeapAfter = before.heap, after.heap
		mem.HeapPerConn = perConn(before.heap, after.heap, up)
	} else if note := before.heapNote + after.heapNote; note != "" {
		s.res.Notes = append(s.res.Notes, "Go heap not measured: "+note)
	}
	s.res.Memory = mem
	if s.o.Meter == nil {
		s.res.Server = &report.Server{PID: s.o.TargetPID, CPUSeconds: after.cpu - before.cpu, RSS: after.rss}
	}
	if before.whole != nil && after.whole != nil {
		s.meter = metered{phase: "connect and idle", before: before.whole, after: after.whole, start: start, end: time.Now()}
		s.res.Notes = append(s.res.Notes,
			fmt.Sprintf("Memory per connection is the whole server side (every edge, logic, job, Redis and etcd process) before any device connected and after %d did; CPU is for connecting them and %v of idling with %v heartbeats.", up, time.Since(connected).Round(time.Second), s.o.Heartbeat))
	} else {
		s.res.Notes = append(s.res.Notes,
			fmt.Sprintf("Server CPU is for connecting %d devices and %v of idling with %v heartbeats; the standalone server's memory includes logic's routes and job.", up, time.Since(connected).Round(time.Second), s.o.Heartbeat))
	}
	if mem.HeapKnown {
		if gcAfter(after) {
			s.res.Notes = append(s.res.Notes, "The server collected garbage after the last device connected, so the heap figure is close to live memory.")
		} else {
			s.res.Notes = append(s.res.Notes, "The server has not collected garbage since the last device connected: the heap figure includes connect-time garbage (-gc-wait 130s waits for Go's forced GC).")
		}
	}
	return s.finish(ctx)
}

func perConn(before, after uint64, n int) float64 {
	if n <= 0 {
		return 0
	}
	return (float64(after) - float64(before)) / float64(n)
}

// lastAuth is when the last device finished connecting (unix nanos).
func (s *session) lastAuth() int64 {
	var last int64
	for _, r := range s.reports {
		last = max(last, r.LastAuth)
	}
	return last
}
