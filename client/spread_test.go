package client

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// maxInWindow is the largest number of times within any window w.
func maxInWindow(times []time.Time, w time.Duration) int {
	ts := slices.Clone(times)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	for _, tt := range []struct {
		ms   []int
		want int
	}{
		{nil, 0},
		{[]int{5}, 1},
		{[]int{0, 99, 100, 199}, 2},
		{[]int{300, 0, 50, 60, 99, 250}, 4},
	} {
		if got := maxInWindow(at(tt.ms...), 100*time.Millisecond); got != tt.want {
			t.Errorf("%v: %d, want %d", tt.ms, got, tt.want)
		}
	}
}

// TestReconnectSpread connects 1,000 clients with the default policy to
// a real server, kills it (every connection ends at the same moment) and
// starts it again on the same ports. Each client's first redial is
// scheduled at its Reconnecting event's time plus the delay it drew: no
// 100 ms window may hold more than 10% of them. The dials and reconnects
// as observed are logged too; they are not asserted, because on a loaded
// machine a stall of the test process makes timers that expired during it
// fire together, which measures the machine, not the policy.
func TestReconnectSpread(t *testing.T) {
	const n = 1000
	s := startStandalone(t)
	var (
		killed    atomic.Int64 // unix nanos of the kill; 0 before
		reconnect atomic.Int64 // Connected events after the kill
		mu        sync.Mutex
		firstDial = make([]time.Time, n)
		planned   = make([]time.Time, n)
		connected []time.Time
	)
	clients := make([]*Client, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := &countingDialer{}
			o := Options{
				Addrs: []string{s.tcp},
				Token: JSONToken{Mid: int64(i), RoomID: "live://spread", Accepts: []int32{1000}}.Bytes(),
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					if k := killed.Load(); k != 0 {
						mu.Lock()
						if firstDial[i].IsZero() {
							firstDial[i] = time.Now()
						}
						mu.Unlock()
					}
					return d.dial(ctx, network, addr)
				},
				OnState: func(e Event) {
					if e.State == Reconnecting && killed.Load() != 0 {
						mu.Lock()
						if planned[i].IsZero() {
							planned[i] = e.Time.Add(e.Delay)
						}
						mu.Unlock()
					}
					if e.State == Connected && killed.Load() != 0 {
						mu.Lock()
						connected = append(connected, e.Time)
						mu.Unlock()
						reconnect.Add(1)
					}
				},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c, err := Dial(ctx, o)
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	defer func() {
		var cw sync.WaitGroup
		for _, c := range clients {
			cw.Add(1)
			go func() { defer cw.Done(); _ = c.Close(context.Background()) }()
		}
		cw.Wait()
		checkNoGoroutines(t)
	}()

	killed.Store(time.Now().UnixNano())
	s.restart(t)
	deadline := time.Now().Add(90 * time.Second)
	for reconnect.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d clients reconnected within 90 s", reconnect.Load(), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if firstDial[i].IsZero() || planned[i].IsZero() {
			t.Fatalf("client %d reconnected without a scheduled redial", i)
		}
	}
	sched := maxInWindow(planned, 100*time.Millisecond)
	first := maxInWindow(firstDial, 100*time.Millisecond)
	conn := maxInWindow(connected, 100*time.Millisecond)
	t0 := time.Unix(0, killed.Load())
	last := slices.MaxFunc(planned, func(a, b time.Time) int { return a.Compare(b) })
	t.Logf("scheduled first redials: at most %d of %d (%.1f%%) in a 100 ms window, over %v after the kill; observed: first dials %d (%.1f%%), reconnects %d (%.1f%%)",
		sched, n, 100*float64(sched)/n, last.Sub(t0).Round(time.Millisecond), first, 100*float64(first)/n, conn, 100*float64(conn)/n)
	lags := make([]time.Duration, n)
	for i := range n {
		lags[i] = firstDial[i].Sub(planned[i])
	}
	slices.Sort(lags)
	t.Logf("timer lag (dial − schedule): median %v, p99 %v, max %v", lags[n/2], lags[n*99/100], lags[n-1])
	if sched > n/10 {
		t.Errorf("%d of %d first redials scheduled in one 100 ms window (> 10%%)", sched, n)
	}
}
