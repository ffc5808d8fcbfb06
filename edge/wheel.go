package edge

import (
	"sync"
	"time"
)

// wheel closes sessions whose deadline (handshake, then heartbeat) has
// passed, with one goroutine for all of them instead of a timer each.
//
// It is lazy: a heartbeat only stores a new deadline in the session; when
// the session's slot comes round, the wheel re-files it under its current
// deadline or, if that has passed, closes it. Slots hold intrusive lists,
// so filing and removing a session allocate nothing.
type wheel struct {
	tick time.Duration

	mu    sync.Mutex
	slots []*session // list heads
	// cur is the tick index the wheel has processed up to; slot of tick
	// t is t % len(slots).
	cur int64
}

// wheelSlots covers 4096 ticks; deadlines further out are re-filed when
// their slot comes round.
const wheelSlots = 4096

func newWheel(tick time.Duration) *wheel {
	return &wheel{tick: tick, slots: make([]*session, wheelSlots), cur: time.Now().UnixNano() / int64(tick)}
}

// add files s under its deadline.
func (w *wheel) add(s *session) {
	w.mu.Lock()
	w.fileLocked(s)
	w.mu.Unlock()
}

func (w *wheel) fileLocked(s *session) {
	t := s.deadline.Load()/int64(w.tick) + 1 // first tick at or after the deadline
	if t <= w.cur {
		t = w.cur + 1
	}
	if max := w.cur + wheelSlots - 1; t > max {
		t = max
	}
	i := int16(t % wheelSlots)
	s.wslot = i
	s.wprev = nil
	s.wnext = w.slots[i]
	if s.wnext != nil {
		s.wnext.wprev = s
	}
	w.slots[i] = s
}

// remove unfiles s (closed sessions).
func (w *wheel) remove(s *session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.wslot < 0 {
		return
	}
	if s.wprev != nil {
		s.wprev.wnext = s.wnext
	} else {
		w.slots[s.wslot] = s.wnext
	}
	if s.wnext != nil {
		s.wnext.wprev = s.wprev
	}
	s.wprev, s.wnext, s.wslot = nil, nil, -1
}

// advance processes every tick up to now and returns the sessions whose
// deadline passed; the caller closes them outside the lock.
func (w *wheel) advance(now time.Time) []*session {
	var expired []*session
	n := now.UnixNano()
	target := n / int64(w.tick)
	w.mu.Lock()
	defer w.mu.Unlock()
	if target-w.cur > wheelSlots {
		// The process stalled longer than a lap; every slot is due.
		w.cur = target - wheelSlots
	}
	for w.cur < target {
		w.cur++
		i := w.cur % wheelSlots
		s := w.slots[i]
		w.slots[i] = nil
		for s != nil {
			next := s.wnext
			s.wprev, s.wnext, s.wslot = nil, nil, -1
			if s.deadline.Load() <= n {
				expired = append(expired, s)
			} else {
				w.fileLocked(s)
			}
			s = next
		}
	}
	return expired
}

// run ticks until stop is closed.
func (w *wheel) run(stop <-chan struct{}) {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			for _, s := range w.advance(now) {
				reason := "heartbeat_timeout"
				s.smu.Lock()
				if !s.authed {
					reason = "handshake_timeout"
				}
				s.smu.Unlock()
				s.close(reason)
			}
		}
	}
}

// all lists every filed session (all open connections, authenticated or
// not), for Shutdown.
func (w *wheel) all() []*session {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*session
	for _, s := range w.slots {
		for ; s != nil; s = s.wnext {
			out = append(out, s)
		}
	}
	return out
}
