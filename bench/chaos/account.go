package chaos

import (
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
)

// Result is one scenario's accounting. A pair is one (push, recipient
// device).
type Result struct {
	Scenario string `json:"scenario"`
	// Bullet is the issue-12 bullet the scenario's promise depends on.
	Bullet string `json:"bullet"`
	// Pending is true when the scenario waits for a fix and its verdict
	// is reported, not asserted.
	Pending bool `json:"pending"`

	Sent     int `json:"sent"`
	Accepted int `json:"accepted"`
	// Refused are answers with a non-zero code; Errors had no answer.
	Refused int `json:"refused"`
	Errors  int `json:"errors"`
	// Skipped are ticks the pusher skipped because maxInflight pushes
	// were unanswered (logic stalled).
	Skipped int `json:"skipped"`

	// Expected pairs are accepted pushes × recipients that stayed
	// connected; Delivered of them arrived, Lost did not.
	Expected  int `json:"expected"`
	Delivered int `json:"delivered"`
	Lost      int `json:"lost"`
	// LostByKind splits Lost by mids, keys, room.
	LostByKind map[string]int `json:"lost_by_kind"`
	// Duplicated pairs arrived more than once (pushes by key and mid);
	// RoomDuplicated likewise for room pushes (reported, not promised).
	Duplicated     int `json:"duplicated"`
	RoomDuplicated int `json:"room_duplicated"`
	// Outside pairs were addressed to devices whose connection ended
	// around the push (outside the promise); OutsideDelivered of them
	// arrived anyway.
	Outside          int `json:"outside"`
	OutsideDelivered int `json:"outside_delivered"`
	// P50 and P99 are push latencies (sent to first arrival) of pushes
	// sent from the fault's start to the end of traffic, in ms.
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	// BadCodes are the answers to the bad pushes (bad-push scenario).
	BadCodes []int `json:"bad_codes,omitempty"`
	// Notes say what happened during the fault (from the scenario).
	Notes []string `json:"notes,omitempty"`
	// Logs summarise the warnings and errors the nodes logged meanwhile.
	Logs []string `json:"logs,omitempty"`

	Pass     bool     `json:"pass"`
	Failures []string `json:"failures,omitempty"`
}

// expectedPair is one pair the promise covers, for settling.
type expectedPair struct {
	p   *Push
	dev *Device
}

// inPromise splits accepted pushes' pairs into those the promise covers
// and those outside it.
func inPromise(f *Fleet, pushes []*Push, grace time.Duration) (in []expectedPair, outside []expectedPair) {
	for _, p := range pushes {
		if !p.Accepted() {
			continue
		}
		for _, i := range f.recipients(p.Kind, p.Target, p.Room) {
			d := f.Devices[i]
			if d.inPromise(p.Sent, p.Answered, grace) {
				in = append(in, expectedPair{p, d})
			} else {
				outside = append(outside, expectedPair{p, d})
			}
		}
	}
	return in, outside
}

// settle polls until every covered pair has arrived or d has passed.
func settle(pairs []expectedPair, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		missing := 0
		for _, e := range pairs {
			if len(e.dev.arrivals(e.p.ID)) == 0 {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// account fills r from the pushes and what the devices received.
func account(r *Result, f *Fleet, pushes []*Push, skipped int, faultAt time.Time, grace time.Duration) {
	r.Sent, r.Skipped = len(pushes), skipped
	r.LostByKind = map[string]int{}
	for _, p := range pushes {
		switch {
		case p.Err != "":
			r.Errors++
		case p.Code != 0:
			r.Refused++
		default:
			r.Accepted++
		}
	}
	in, outside := inPromise(f, pushes, grace)
	h := hist.New()
	for _, e := range in {
		r.Expected++
		got := e.dev.arrivals(e.p.ID)
		if len(got) == 0 {
			r.Lost++
			r.LostByKind[e.p.Kind]++
			continue
		}
		r.Delivered++
		if len(got) > 1 {
			if e.p.Kind == "room" {
				r.RoomDuplicated++
			} else {
				r.Duplicated++
			}
		}
		if !e.p.Sent.Before(faultAt) {
			h.Record(got[0].Sub(e.p.Sent))
		}
	}
	for _, e := range outside {
		r.Outside++
		got := e.dev.arrivals(e.p.ID)
		if len(got) > 0 {
			r.OutsideDelivered++
		}
		if len(got) > 1 && e.p.Kind != "room" {
			r.Duplicated++
		}
	}
	r.P50ms = float64(h.Quantile(0.5)) / float64(time.Millisecond)
	r.P99ms = float64(h.Quantile(0.99)) / float64(time.Millisecond)
}

// judge sets the verdict: the promise of issue 12's "Done means".
func judge(r *Result, wantBad bool) {
	if r.Accepted == 0 {
		r.Failures = append(r.Failures, "no push was accepted: the scenario proved nothing")
	}
	if r.Expected == 0 {
		r.Failures = append(r.Failures, "no delivery was covered by the promise: the scenario proved nothing")
	}
	if r.Lost > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d accepted pairs lost to devices that stayed connected (%v)", r.Lost, r.LostByKind))
	}
	if r.Duplicated > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d pushes by key or mid delivered more than once", r.Duplicated))
	}
	if wantBad {
		if len(r.BadCodes) == 0 {
			r.Failures = append(r.Failures, "no bad push was answered")
		}
		for _, c := range r.BadCodes {
			if c != -400 {
				r.Failures = append(r.Failures, fmt.Sprintf("bad push (operation=9) answered code %d, want -400", c))
				break
			}
		}
	}
	r.Pass = len(r.Failures) == 0
}
