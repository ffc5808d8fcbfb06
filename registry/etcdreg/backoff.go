package etcdreg

import (
	"context"
	"math/rand/v2"
	"time"
)

// Retry delays grow from retryBase to retryMax; a node must come back soon
// after etcd does, but thousands of nodes must not hammer a recovering
// etcd in lockstep, hence the jitter.
const (
	retryBase = 200 * time.Millisecond
	retryMax  = 5 * time.Second
)

// retryDelay is the wait before retry attempt n (0-based): exponential
// with ±20% jitter, capped at retryMax.
func retryDelay(n int) time.Duration {
	d := retryBase << min(n, 10)
	d = min(d, retryMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
