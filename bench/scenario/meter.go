package scenario

import (
	"context"
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/bench/report"
)

// metered is the phase a cluster run measures with Options.Meter: the
// whole server side read at its start and at its end.
type metered struct {
	phase         string
	before, after *report.Sample
	start, end    time.Time
}

// meterStart reads the deployment at the start of phase (no-op without a
// Meter). A failed read is a note, not a failed run: the delivery figures
// still stand.
func (s *session) meterStart(ctx context.Context, phase string) {
	if s.o.Meter == nil {
		return
	}
	smp, err := s.o.Meter.Sample(ctx)
	if err != nil {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("server side not measured at the start of %s: %v", phase, err))
		s.meter = metered{}
		return
	}
	s.meter = metered{phase: phase, before: &smp, start: time.Now()}
}

// meterEnd reads the deployment at the end of the phase meterStart began.
func (s *session) meterEnd(ctx context.Context) {
	if s.o.Meter == nil || s.meter.before == nil {
		return
	}
	smp, err := s.o.Meter.Sample(ctx)
	if err != nil {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("server side not measured at the end of %s: %v", s.meter.phase, err))
		s.meter.before = nil
		return
	}
	s.meter.after, s.meter.end = &smp, time.Now()
}

// cost turns the metered phase into the result's per-role cost, once the
// devices' results (deliveries) are in.
func (s *session) cost() {
	m := s.meter
	if m.before == nil || m.after == nil {
		return
	}
	devices := 0
	if c := s.res.Connections; c != nil {
		devices = c.Up
	}
	var delivered int64
	if d := s.res.Delivery; d != nil {
		delivered = d.Delivered
	}
	s.res.Cost = report.NewCost(m.phase, *m.before, *m.after, m.end.Sub(m.start).Seconds(), devices, delivered)
}

// wholeMemory is the resident memory and Go heap of every server process
// in smp (backends included), for the idle scenario's per-device figures.
// heapOK is false when a Go role's heap could not be read.
func wholeMemory(smp report.Sample) (rss, heap uint64, cpu float64, heapOK bool) {
	heapOK = true
	for _, p := range smp.Processes {
		rss += p.RSS
		cpu += p.CPUSeconds
		switch p.Role {
		case "edge", "logic", "job":
			heap += p.HeapInuse
			heapOK = heapOK && p.HeapKnown
		}
	}
	return rss, heap, cpu, heapOK
}
