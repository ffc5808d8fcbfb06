package retry

import (
	"context"
	"time"
)

// Backoff is the wait between attempts to reach a queue backend that is
// down: it doubles from Min up to Max and resets on success.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Wait sleeps for the next interval; it returns false if ctx ended first.
func (b *Backoff) Wait(ctx context.Context) bool {
	if b.cur == 0 {
		b.cur = b.Min
	} else {
		b.cur = min(b.cur*2, b.Max)
	}
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Failing reports whether the last call was a failure (Wait without Reset).
func (b *Backoff) Failing() bool { return b.cur != 0 }

// Reset starts over after a success.
func (b *Backoff) Reset() { b.cur = 0 }
