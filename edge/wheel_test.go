package edge

import (
	"slices"
	"testing"
	"time"
)

func TestWheelExpiresOnlyPastDeadlines(t *testing.T) {
	const tick = 100 * time.Millisecond
	srv := newUnitServer(t, func(c *Config) { c.TimerTick = tick })
	w := srv.wheel
	base := time.Unix(0, w.cur*int64(tick))
	mk := func(after time.Duration) *session {
		s := &session{srv: srv, wslot: -1}
		s.deadline.Store(base.Add(after).UnixNano())
		w.add(s)
		return s
	}
	soon, later, far, gone := mk(250*time.Millisecond), mk(time.Second), mk(wheelSlots*tick*3), mk(150*time.Millisecond)
	w.remove(gone)

	if got := w.advance(base.Add(200 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("expired before any deadline: %d", len(got))
	}
	if got := w.advance(base.Add(300 * time.Millisecond)); !slices.Equal(got, []*session{soon}) {
		t.Fatalf("at 300ms expired %v, want only soon", got)
	}
	// A heartbeat moves the deadline; the wheel re-files lazily.
	later.deadline.Store(base.Add(2 * time.Second).UnixNano())
	if got := w.advance(base.Add(1500 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("expired a session whose deadline moved: %d", len(got))
	}
	if got := w.advance(base.Add(2100 * time.Millisecond)); !slices.Equal(got, []*session{later}) {
		t.Fatalf("at 2.1s expired %v, want later", got)
	}
	// Deadlines beyond one lap are carried round until due.
	if got := w.advance(base.Add(wheelSlots * tick * 2)); len(got) != 0 {
		t.Fatalf("far deadline expired a lap early")
	}
	if got := w.advance(base.Add(wheelSlots*tick*3 + tick)); !slices.Equal(got, []*session{far}) {
		t.Fatalf("far deadline: expired %v", got)
	}
	if n := len(w.all()); n != 0 {
		t.Fatalf("%d sessions left in the wheel", n)
	}
}

func TestWheelAllAndRemove(t *testing.T) {
	srv := newUnitServer(t, nil)
	var ss []*session
	for i := range 100 {
		s := &session{srv: srv, wslot: -1}
		s.deadline.Store(time.Now().Add(time.Duration(i) * time.Second).UnixNano())
		srv.wheel.add(s)
		ss = append(ss, s)
	}
	for _, s := range ss[:50] {
		srv.wheel.remove(s)
		srv.wheel.remove(s) // idempotent
	}
	if n := len(srv.wheel.all()); n != 50 {
		t.Fatalf("all() = %d sessions, want 50", n)
	}
}

func BenchmarkWheelAdvance(b *testing.B) {
	srv := newUnitServer(b, nil)
	now := time.Now()
	for range 100000 {
		s := &session{srv: srv, wslot: -1}
		s.deadline.Store(now.Add(time.Hour).UnixNano())
		srv.wheel.add(s)
	}
	b.ResetTimer()
	for i := range b.N {
		srv.wheel.advance(now.Add(time.Duration(i%60) * time.Second))
	}
}
