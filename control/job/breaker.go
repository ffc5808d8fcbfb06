package job

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// breaker marks an edge down after a run of consecutive failed RPCs, so
// job gives up on it at once instead of spending RPCTimeout × attempts per
// message on an edge that is hung or gone. While down, one message per
// ProbeInterval is let through as a trial (real traffic is the only
// reliable probe: an edge may answer Rooms while its push path is stuck);
// its success closes the breaker.
type breaker struct {
	threshold int32
	interval  time.Duration
	log       *slog.Logger
	failures  atomic.Int32
	open      atomic.Bool
	nextTrial atomic.Int64 // unix nanoseconds
}

func (b *breaker) init(threshold int, interval time.Duration, log *slog.Logger) {
	b.threshold = int32(threshold)
	b.interval = interval
	b.log = log
}

func (b *breaker) isOpen() bool { return b.open.Load() }

// admit reports whether a message may be sent to the edge, and whether it
// is the trial of an open breaker.
func (b *breaker) admit() (ok, trial bool) {
	if !b.open.Load() {
		return true, false
	}
	now := time.Now().UnixNano()
	next := b.nextTrial.Load()
	if now >= next && b.nextTrial.CompareAndSwap(next, now+int64(b.interval)) {
		return true, true
	}
	return false, false
}

// failure counts one failed RPC and opens the breaker at the threshold.
func (b *breaker) failure() {
	if b.failures.Add(1) < b.threshold {
		return
	}
	if b.open.CompareAndSwap(false, true) {
		b.nextTrial.Store(time.Now().Add(b.interval).UnixNano())
		edgesDown.Inc()
		b.log.Warn("job: edge is down, giving up on it except for one trial message per probe interval",
			"consecutive_failures", b.failures.Load(), "probe_interval", b.interval)
	}
}

// success resets the count and closes the breaker.
func (b *breaker) success() {
	b.failures.Store(0)
	if b.open.CompareAndSwap(true, false) {
		edgesDown.Dec()
		b.log.Info("job: edge is back")
	}
}

// forget takes a closed edge out of the down gauge.
func (b *breaker) forget() {
	if b.open.CompareAndSwap(true, false) {
		edgesDown.Dec()
	}
}
