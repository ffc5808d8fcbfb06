package queue

import (
	"context"
	"errors"
	"sync"
)

// Multi consumes several queues at once with one handler, so a job can
// drain Redis and Kafka side by side (e.g. while moving from one to the
// other). Each queue keeps its own ordering and acknowledgement rules;
// Delivery.Queue says where a message came from.
func Multi(cs ...Consumer) Consumer {
	if len(cs) == 1 {
		return cs[0]
	}
	return multi(cs)
}

type multi []Consumer

// Run runs every consumer until ctx is done. If one fails, the others are
// stopped and the errors returned together.
func (m multi) Run(ctx context.Context, h Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(m))
	for i, c := range m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx, h); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close closes every consumer.
func (m multi) Close() error {
	errs := make([]error, len(m))
	for i, c := range m {
		errs[i] = c.Close()
	}
	return errors.Join(errs...)
}
