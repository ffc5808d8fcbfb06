package push

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/payload"
	"github.com/goim-edge/goim-edge/bench/tally"
)

// Plan is an open-loop push schedule: message i is due at start + i/Rate,
// whether or not earlier pushes have returned, so a slow server shows up as
// latency and as pushes behind schedule, not as a quietly lower rate.
type Plan struct {
	// Rate is pushes per second.
	Rate float64
	// Duration bounds the schedule; Count, when > 0, bounds it too.
	Duration time.Duration
	Count    int
	// InFlight caps concurrent requests (default 64).
	InFlight int
	// Size is the message body size (at least payload.MinSize).
	Size int
}

// Message says where push id goes and how many devices should get it.
// It is called in id order, on the schedule's goroutine.
type Message func(id uint64) (t Target, dest uint32, expected int64)

// Outcome is what a schedule did.
type Outcome struct {
	// Sent lists the accepted pushes with their send time and expected
	// receivers, for reconciliation.
	Sent []tally.Sent
	// Attempted and Failed count pushes; Errors counts failures by cause.
	Attempted int64
	Failed    int64
	Errors    map[string]int
	// Request is the push request latency (HTTP or RPC round trip).
	Request *hist.Histogram
	// Behind counts pushes that started more than 10 ms after they were
	// due because InFlight requests were all busy.
	Behind int64
	// Start and End bound the schedule (first send to last reply).
	Start, End time.Time
}

// AchievedRate is accepted pushes per second over the schedule.
func (o *Outcome) AchievedRate() float64 {
	d := o.End.Sub(o.Start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(len(o.Sent)) / d
}

// Counter is a live view of a running schedule, for progress lines.
type Counter struct {
	Attempted atomic.Int64
	Failed    atomic.Int64
}

// Run executes plan with p, building each message with msg. It returns
// when the schedule is over and every request has returned, or ctx ends.
func Run(ctx context.Context, p Pusher, plan Plan, msg Message, live *Counter) *Outcome {
	if live == nil {
		live = &Counter{}
	}
	inflight := plan.InFlight
	if inflight <= 0 {
		inflight = 64
	}
	out := &Outcome{Request: hist.New(), Errors: map[string]int{}}
	var mu sync.Mutex
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / plan.Rate)
	start := time.Now()
	out.Start = start
	end := start.Add(plan.Duration)
	for i := 0; plan.Count <= 0 || i < plan.Count; i++ {
		due := start.Add(time.Duration(i) * interval)
		if plan.Duration > 0 && !due.Before(end) {
			break
		}
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if time.Since(due) > 10*time.Millisecond {
			out.Behind++
		}
		id := uint64(i)
		target, dest, expected := msg(id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sentAt := time.Now()
			body := payload.Append(make([]byte, 0, max(plan.Size, payload.MinSize)), payload.Message{ID: id, Sent: sentAt.UnixNano(), Dest: dest}, plan.Size)
			err := p.Push(ctx, target, body)
			took := time.Since(sentAt)
			live.Attempted.Add(1)
			mu.Lock()
			defer mu.Unlock()
			out.Attempted++
			out.Request.Record(took)
			if err != nil {
				live.Failed.Add(1)
				out.Failed++
				if len(out.Errors) < 16 {
					out.Errors[err.Error()]++
				} else {
					out.Errors["other"]++
				}
				return
			}
			out.Sent = append(out.Sent, tally.Sent{ID: id, At: sentAt.UnixNano(), Expected: expected})
		}()
	}
	wg.Wait()
	out.End = time.Now()
	return out
}
