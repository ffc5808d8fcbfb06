package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/bench/procstat"
	"github.com/goim-edge/goim-edge/bench/report"
	"github.com/goim-edge/goim-edge/bench/scenario"
)

// machineMeter adds the machine's memory and TCP socket count to every
// sample of a cluster, so a large run's report shows what the kernel paid
// and how close the machine came to running out.
type machineMeter struct{ scenario.Meter }

func (m machineMeter) Sample(ctx context.Context) (report.Sample, error) {
	s, err := m.Meter.Sample(ctx)
	if err != nil {
		return s, err
	}
	if mm, err := procstat.Machine(); err == nil {
		s.Machine = &mm
	}
	return s, nil
}

// errLowMemory is the cause a run is stopped with when the machine is
// about to run out of memory.
var errLowMemory = errors.New("the machine is running out of memory")

// memoryGuard returns a context cancelled, with a cause naming the figures,
// once the machine's available memory falls below min bytes: a run too big
// for the machine stops and reports how far it got instead of taking the
// machine down. min 0 guards nothing.
func memoryGuard(ctx context.Context, min uint64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	if min == 0 {
		return ctx, func() { cancel(nil) }
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			m, err := procstat.Machine()
			if err != nil || m.Available >= min {
				continue
			}
			cancel(fmt.Errorf("%w: %s of %s available (below -min-free-mb %d), %d TCP sockets open, kernel slab %s",
				errLowMemory, mib(m.Available), mib(m.Total), min>>20, m.TCPSockets, mib(m.Slab)))
			return
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}

func mib(b uint64) string { return fmt.Sprintf("%d MiB", b>>20) }
