package job

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// breaker marks an edge down after a run of consecutive failed RPCs (or
// when one message failed every retry), so job stops waiting on it: its
// messages are parked in the edge's outbox instead of holding their queue
// messages for RPCTimeout × attempts each. While down, one RPC per
// ProbeInterval is let through as a trial (real traffic is the only
// reliable probe: an edge may answer Rooms while its push path is stuck);
// its success closes the breaker and the outbox is sent, in order.
type breaker struct {
	threshold int32
	interval  time.Duration
	log       *slog.Logger
	// onOpen runs after the breaker opened (parks the edge's outbox).
	onOpen    func()
	failures  atomic.Int32
	open      atomic.Bool
	nextTrial atomic.Int64 // unix nanoseconds

	mu sync.Mutex
	up chan struct{} // while open: closed when the breaker closes
}

// closedChan is an already closed channel: "the edge is up".
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (b *breaker) init(threshold int, interval time.Duration, log *slog.Logger, onOpen func()) {
	b.threshold = int32(threshold)
	b.interval = interval
	b.log = log
	b.onOpen = onOpen
}

func (b *breaker) isOpen() bool { return b.open.Load() }

// upChan is closed once the breaker is closed (at once when it is).
func (b *breaker) upChan() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open.Load() {
		return closedChan
	}
	return b.up
}

// set opens or closes the breaker; it reports whether that changed it.
func (b *breaker) set(open bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open.Load() == open {
		return false
	}
	if open {
		b.up = make(chan struct{})
		b.nextTrial.Store(time.Now().Add(b.interval).UnixNano())
	} else {
		close(b.up)
		b.up = nil
	}
	b.open.Store(open)
	return true
}

// admit reports whether an RPC may be sent to the edge, and whether it is
// the trial of an open breaker.
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

// untilTrial is how long until the next trial may be sent.
func (b *breaker) untilTrial() time.Duration {
	return time.Until(time.Unix(0, b.nextTrial.Load()))
}

// failure counts one failed RPC and opens the breaker at the threshold.
func (b *breaker) failure() {
	if b.failures.Add(1) < b.threshold {
		return
	}
	b.trip("consecutive failures")
}

// trip opens the breaker now (one message failed every attempt: waiting
// on the edge for the next ones would hold their queue messages too).
func (b *breaker) trip(why string) {
	if !b.set(true) {
		return
	}
	edgesDown.Inc()
	b.log.Warn("job: edge is down: parking its messages in its outbox, one trial per probe interval",
		"why", why, "consecutive_failures", b.failures.Load(), "probe_interval", b.interval)
	if b.onOpen != nil {
		b.onOpen()
	}
}

// success resets the count and closes the breaker.
func (b *breaker) success() {
	b.failures.Store(0)
	if b.open.Load() && b.set(false) {
		edgesDown.Dec()
		b.log.Info("job: edge is back: sending its outbox")
	}
}

// forget takes a closed edge out of the down gauge.
func (b *breaker) forget() {
	if b.open.Load() && b.set(false) {
		edgesDown.Dec()
	}
}
