package queuetest

import (
	"context"
	"fmt"
	"sync"

	"github.com/goim-edge/goim-edge/control/queue"
)

// Recorder collects deliveries from any number of consumers, in the order
// they were handled. The zero value is ready to use.
type Recorder struct {
	mu    sync.Mutex
	seen  []*queue.Delivery
	count map[string]int // deliveries per message id
}

// Add records a copy of d.
func (r *Recorder) Add(d *queue.Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count == nil {
		r.count = map[string]int{}
	}
	c := *d
	r.seen = append(r.seen, &c)
	r.count[d.Msg.Id]++
}

// Handle is a queue.Handler that records every well-formed delivery and
// fails a malformed one (no message, queue, id or attempt).
func (r *Recorder) Handle(_ context.Context, d *queue.Delivery) error {
	if d.Msg == nil || d.Queue == "" || d.ID == "" || d.Attempt < 1 {
		return fmt.Errorf("malformed delivery %+v", d)
	}
	r.Add(d)
	return nil
}

// Distinct is how many different message ids were recorded.
func (r *Recorder) Distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.count)
}

// Times is how often message id was recorded.
func (r *Recorder) Times(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[id]
}

// All is every recorded delivery, in handling order.
func (r *Recorder) All() []*queue.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*queue.Delivery(nil), r.seen...)
}
