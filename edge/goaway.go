package edge

import (
	"sync"
	"time"
)

// Draining. An edge that drains (Handler.Drain, or the process's
// shutdown) refuses new connections and ends its sessions paced, while
// its Edge RPC service keeps taking pushes: a device still connected gets
// every push until its own turn comes. Its turn (goAway) ends it
// gracefully: it takes no more pushes, what is already queued for it is
// written, a WebSocket device gets close code 1001 (going away) with
// goAwayReason, and the connection is closed (its route in logic is
// removed as on any close). A TCP device sees the connection end after
// its last push; goim clients reconnect on close, and the nodes API no
// longer offers a draining edge.

// goAwayReason is the close reason WebSocket devices get.
const goAwayReason = "edge draining; reconnect"

// goAwayWorkers is how many sessions are ended at once: a device whose
// socket is full holds its worker for up to WriteTimeout, and the others
// go on.
const goAwayWorkers = 16

// drainPassPause spaces the passes over sessions that appeared (or were
// still being written to) during the previous pass.
const drainPassPause = 50 * time.Millisecond

// goAwayer is a transport that can tell its device to reconnect
// elsewhere before it closes (WebSocket: a close frame).
type goAwayer interface {
	goAway(reason string) error
}

// goAway ends the session for a drain (see the top of this file); it
// returns without waiting when another goroutine owns the send queue,
// which then finishes the job.
func (s *session) goAway() {
	s.qmu.Lock()
	if s.q(qClosed) || s.q(qGoingAway) {
		s.qmu.Unlock()
		return
	}
	s.setQ(qGoingAway, true)
	if s.q(qWriting) {
		s.qmu.Unlock()
		return
	}
	s.setQ(qWriting, true)
	q := s.queue
	s.queue = nil
	s.qmu.Unlock()
	if len(q) > 0 {
		if err := s.write(q); err != nil {
			s.close("write_error")
			return
		}
	}
	s.finishGoAway()
}

// finishGoAway runs as the queue's writer once the queue is empty: the
// goodbye, then the close.
func (s *session) finishGoAway() {
	if g, ok := s.t.(goAwayer); ok {
		s.wmu.Lock()
		if !s.wdone {
			_ = g.goAway(goAwayReason)
		}
		s.wmu.Unlock()
	}
	s.close("drain")
}

// BeginDrain marks the edge draining: new connections are refused, and
// Stats reports Draining (the registry flag). It reports whether this
// call began it; DrainStarted is closed by the first.
func (s *Server) BeginDrain() bool {
	if s.draining.Swap(true) {
		return false
	}
	s.drainOnce.Do(func() {
		if s.drainCh != nil { // nil only in unit tests' bare servers
			close(s.drainCh)
		}
	})
	return true
}

// DrainStarted is closed once the edge begins draining (Drain RPC or
// Shutdown), so the process can publish the registry flag at once.
func (s *Server) DrainStarted() <-chan struct{} { return s.drainCh }

// endSessions ends every session with goAway, perSecond per second (0:
// all at once, goAwayWorkers at a time), and returns once none is left
// or the server stops. Only one runs at a time; a second call returns at
// once.
func (s *Server) endSessions(perSecond int) {
	if !s.ending.CompareAndSwap(false, true) {
		return
	}
	defer s.ending.Store(false)
	for {
		all := s.sessionsSnapshot()
		if len(all) == 0 {
			return
		}
		work := make(chan *session)
		var wg sync.WaitGroup
		for range min(goAwayWorkers, len(all)) {
			wg.Go(func() {
				for sess := range work {
					sess.goAway()
				}
			})
		}
		s.paced(all, perSecond, func(sess *session) {
			select {
			case work <- sess:
			case <-s.stop:
			}
		})
		close(work)
		wg.Wait()
		if !s.sleepUntil(time.Now().Add(drainPassPause)) {
			return
		}
	}
}
