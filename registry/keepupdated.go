package registry

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// KeepUpdated republishes a registered node's value every interval until
// ctx ends, so the load counts in the registry follow the node without a
// write per connection. current returns the node's whole instance as it
// is now (counts, draining flag): KeepUpdated never merges fields, so a
// draining flag set elsewhere cannot be overwritten with a stale copy.
// Unchanged values are not written. Failures are logged and retried at
// the next tick; losing the registration itself is the registrar's
// business (it re-registers with the latest value). A nil logger means
// slog.Default().
func KeepUpdated(ctx context.Context, r Registrar, every time.Duration, current func() Instance, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var last Instance
	published := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		inst := current()
		if published && inst == last {
			continue
		}
		err := r.Update(ctx, inst)
		switch {
		case err == nil:
			last, published = inst, true
		case errors.Is(err, ErrRetrying):
			// Stored for the re-registration; try to publish again next tick.
			published = false
			log.Debug("registry: update deferred until re-registration", "key", inst.Key(), "err", err)
		case ctx.Err() != nil:
			return
		default:
			published = false
			log.Warn("registry: update failed", "key", inst.Key(), "err", err)
		}
	}
}
