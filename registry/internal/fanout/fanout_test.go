package fanout

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/goim-edge/goim-edge/registry"
)

// TestJoinDuringPublishing: subscribers that join while views are being
// published see strictly newer views each time and end on the last one.
func TestJoinDuringPublishing(t *testing.T) {
	var h Hub
	var mu sync.Mutex
	var version uint64
	var view []registry.Instance
	snap := func() (uint64, []registry.Instance) {
		mu.Lock()
		defer mu.Unlock()
		return version, view
	}
	const last = 2000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for v := uint64(1); v <= last; v++ {
			mu.Lock()
			version, view = v, []registry.Instance{{Node: strconv.FormatUint(v, 10)}}
			mu.Unlock()
			h.Publish(v, []registry.Instance{{Node: strconv.FormatUint(v, 10)}})
		}
	}()
	type seen struct {
		mu   sync.Mutex
		last int
		bad  bool
	}
	subs := make([]*seen, 20)
	for i := range subs {
		s := &seen{last: -1}
		subs[i] = s
		h.Subscribe(context.Background(), snap, func(l []registry.Instance) {
			n := 0
			if len(l) == 1 {
				n, _ = strconv.Atoi(l[0].Node)
			}
			s.mu.Lock()
			if n <= s.last {
				s.bad = true
			}
			s.last = n
			s.mu.Unlock()
		})
	}
	<-done
	for i, s := range subs {
		s.mu.Lock()
		if s.bad || s.last != last {
			t.Errorf("subscriber %d: went back=%v, last=%d want %d", i, s.bad, s.last, last)
		}
		s.mu.Unlock()
	}
}

func TestCancelStopsDelivery(t *testing.T) {
	var h Hub
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	h.Subscribe(ctx, func() (uint64, []registry.Instance) { return 0, nil }, func([]registry.Instance) { calls++ })
	h.Publish(1, nil)
	cancel()
	h.Publish(2, nil)
	if calls != 2 {
		t.Fatalf("calls = %d, want 2 (initial + one before cancel)", calls)
	}
}
