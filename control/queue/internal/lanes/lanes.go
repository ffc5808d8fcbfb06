// Package lanes runs work concurrently while keeping the order of work
// items that share a key: each key hashes to one lane, and a lane runs its
// items one at a time in submission order.
package lanes

import (
	"hash/maphash"
	"sync"
)

// Lanes is a fixed set of ordered workers.
type Lanes struct {
	seed  maphash.Seed
	lanes []chan func()
	wg    sync.WaitGroup
}

// New starts n lanes (at least one), each buffering up to depth items.
func New(n, depth int) *Lanes {
	n = max(n, 1)
	l := &Lanes{seed: maphash.MakeSeed(), lanes: make([]chan func(), n)}
	for i := range l.lanes {
		ch := make(chan func(), depth)
		l.lanes[i] = ch
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for fn := range ch {
				fn()
			}
		}()
	}
	return l
}

// Go queues fn on key's lane; it blocks while that lane is full, which
// is the backpressure that keeps a consumer from reading ahead unboundedly.
func (l *Lanes) Go(key string, fn func()) {
	i := 0
	if len(l.lanes) > 1 {
		i = int(maphash.String(l.seed, key) % uint64(len(l.lanes)))
	}
	l.lanes[i] <- fn
}

// Wait lets the queued items finish and stops the lanes. Go must not be
// called after Wait.
func (l *Lanes) Wait() {
	for _, ch := range l.lanes {
		close(ch)
	}
	l.wg.Wait()
}
