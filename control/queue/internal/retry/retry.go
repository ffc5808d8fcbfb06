// Package retry hands one delivery to a handler until it is acknowledged,
// found to be poison, out of attempts, or the consumer stops. Every queue
// implementation shares it so they all retry, count and give up the same way.
package retry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
)

// Outcome is how a delivery ended.
type Outcome int

const (
	// Acked: the handler returned nil; acknowledge the message.
	Acked Outcome = iota
	// Poison: move the message aside and acknowledge it.
	Poison
	// Aborted: the consumer is stopping; leave the message unacknowledged
	// so it is delivered again (to this consumer after a restart, or to
	// another one).
	Aborted
)

// Policy is the retry behaviour from the queue's DeliveryConfig.
type Policy struct {
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
}

// FromConfig turns a DeliveryConfig into a Policy with sane floors.
func FromConfig(c queue.DeliveryConfig) Policy {
	p := Policy{MaxAttempts: c.MaxAttempts, Backoff: c.RetryBackoff, MaxBackoff: c.MaxRetryBackoff}
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 1
	}
	if p.MaxBackoff < p.Backoff {
		p.MaxBackoff = p.Backoff
	}
	return p
}

// Handle calls h with d until it succeeds or gives up. d.Attempt must
// already count earlier deliveries (1 for a fresh message); Handle raises
// it on each retry. The returned error explains a Poison outcome.
func Handle(ctx context.Context, kind string, h queue.Handler, d *queue.Delivery, p Policy, log *slog.Logger) (Outcome, error) {
	if d.Attempt < 1 {
		d.Attempt = 1
	}
	backoff := p.Backoff
	for {
		if ctx.Err() != nil {
			return Aborted, ctx.Err()
		}
		if d.Attempt > p.MaxAttempts {
			// Delivered too often already (e.g. by consumers that died
			// while handling it): it may be what kills them.
			return Poison, fmt.Errorf("%w: delivered %d times", queue.ErrPoison, d.Attempt-1)
		}
		start := time.Now()
		err := call(ctx, h, d)
		queue.HandleSeconds.WithLabelValues(kind).Observe(time.Since(start).Seconds())
		switch {
		case err == nil:
			queue.ConsumedTotal.WithLabelValues(kind).Inc()
			return Acked, nil
		case errors.Is(err, queue.ErrPoison):
			return Poison, err
		case ctx.Err() != nil:
			return Aborted, err
		case d.Attempt >= p.MaxAttempts:
			return Poison, fmt.Errorf("%w: %d attempts, last: %v", queue.ErrPoison, d.Attempt, err)
		}
		log.Debug("queue: handler failed, retrying", "queue", kind, "id", d.ID, "attempt", d.Attempt, "err", err)
		queue.RedeliveredTotal.WithLabelValues(kind).Inc()
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return Aborted, ctx.Err()
			case <-t.C:
			}
			backoff = min(backoff*2, p.MaxBackoff)
		}
		d.Attempt++
	}
}

// call runs h and turns a panic into an error: one bad message must not
// take job down.
func call(ctx context.Context, h queue.Handler, d *queue.Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("queue: handler panicked: %v", r)
		}
	}()
	return h(ctx, d)
}

// LogPoison logs and counts one message moved aside.
func LogPoison(log *slog.Logger, kind string, d *queue.Delivery, err error) {
	queue.PoisonTotal.WithLabelValues(kind).Inc()
	log.Warn("queue: poison message moved aside", "queue", kind, "id", d.ID, "attempt", d.Attempt, "err", err)
}
