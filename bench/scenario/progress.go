package scenario

import (
	"fmt"
	"time"
)

// progressEvery is how often the live line updates.
const progressEvery = time.Second

// startProgress prints the live line until the returned stop is called.
func (s *session) startProgress() (stop func()) {
	w := s.o.Progress
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		start := time.Now()
		var lastRecv int64
		lastAt := start
		for {
			select {
			case <-done:
				if s.o.ProgressInPlace {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case now := <-t.C:
				phase, g := s.status()
				line := fmt.Sprintf("[%s %5.1fs %s]", s.o.Scenario, now.Sub(start).Seconds(), phase)
				if g != nil {
					p := g.Progress()
					rate := float64(p.Received-lastRecv) / now.Sub(lastAt).Seconds()
					lastRecv, lastAt = p.Received, now
					line += fmt.Sprintf(" up %d/%d failed %d lost %d | received %d, %.0f msgs/s", p.Up, s.o.Conns, p.Failed, p.Lost, p.Received, rate)
				}
				if a := s.live.Attempted.Load(); a > 0 {
					line += fmt.Sprintf(" | pushed %d (%d failed)", a, s.live.Failed.Load())
				}
				if s.o.ProgressInPlace {
					fmt.Fprintf(w, "\r\033[K%s", line)
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
