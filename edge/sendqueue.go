package edge

// A session's pushes wait in a small bounded queue; a goroutine exists
// only while there is something to write, so idle connections cost none,
// and one device that stops reading holds up only its own writer.

// push queues msg (a complete server frame). When filter is set only
// connections whose accept set holds op take it (keys, mids, broadcast);
// room pushes pass filter=false. A full queue drops the message, counted,
// and with DisconnectSlow closes the connection.
func (s *session) push(msg []byte, op int32, filter bool) bool {
	return s.offer(msg, nil, op, filter, false)
}

// offer hands s one push: msg in goim's form, pf (nil when the push has
// no position) in the op-28 form a positioned connection takes instead
// (resume.go), which waits in the held list while its stream is being
// recovered. inline (the fan-out workers, fanout.go): when nothing is queued or
// being written for s, the calling worker writes msg itself instead of
// starting a drain goroutine, so a room flush keeps a handful of runnable
// goroutines rather than one per member; otherwise msg is queued as push
// does.
func (s *session) offer(msg []byte, pf *posForm, op int32, filter, inline bool) bool {
	s.qmu.Lock()
	if s.q(qClosed) || s.q(qGoingAway) || (filter && !s.accepts.has(op)) {
		s.qmu.Unlock()
		return false
	}
	if pf != nil && s.q(qPositioned) {
		r := s.ext.resume
		if r.holds(pf) {
			ok := s.holdLocked(pf)
			s.qmu.Unlock()
			if !ok {
				resumeOverflowsTotal.Inc()
				go s.close("resume_overflow")
			}
			return ok
		}
		if msg = r.pass(pf); msg == nil {
			s.qmu.Unlock()
			return true // recovery delivered it already
		}
	}
	if inline && !s.q(qWriting) {
		s.setQ(qWriting, true)
		s.qmu.Unlock()
		if err := s.write([][]byte{msg}); err != nil {
			s.qmu.Lock()
			s.setQ(qWriting, false)
			s.qmu.Unlock()
			s.close("write_error")
			return false
		}
		s.releaseWriter()
		return true
	}
	if len(s.queue) >= s.srv.cfg.SendQueue {
		s.qmu.Unlock()
		dropsTotal.Inc()
		if s.srv.cfg.DisconnectSlow {
			go s.close("slow")
		}
		return false
	}
	s.queue = append(s.queue, msg)
	start := !s.q(qWriting)
	s.setQ(qWriting, true)
	s.qmu.Unlock()
	if start {
		// A goroutine only while there is something to write: idle
		// connections hold none, and one slow device blocks only its own.
		go s.drain()
	}
	return true
}

// takeWriter makes the caller the session's writer: pushes from now on
// queue behind it instead of writing or starting a drainer. It reports
// false when another writer holds the queue.
func (s *session) takeWriter() bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.q(qWriting) {
		return false
	}
	s.setQ(qWriting, true)
	return true
}

// releaseWriter ends a takeWriter: pushes queued meanwhile go to a
// drainer, else the queue is free again.
func (s *session) releaseWriter() {
	s.qmu.Lock()
	if len(s.queue) == 0 || s.q(qClosed) {
		if s.q(qGoingAway) && !s.q(qClosed) {
			s.qmu.Unlock()
			s.finishGoAway() // still the writer: nobody else writes
			return
		}
		s.setQ(qWriting, false)
		s.qmu.Unlock()
		return
	}
	s.qmu.Unlock()
	go s.drain()
}

// write sends msgs under the write lock.
func (s *session) write(msgs [][]byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wdone {
		return errClosed
	}
	return s.t.write(msgs)
}

// endWrites waits for a write in progress and refuses later ones.
func (s *session) endWrites() {
	s.wmu.Lock()
	s.wdone = true
	s.wmu.Unlock()
}

func (s *session) drain() {
	for {
		s.qmu.Lock()
		q := s.queue
		s.queue = nil
		if len(q) == 0 || s.q(qClosed) {
			if s.q(qGoingAway) && !s.q(qClosed) {
				s.qmu.Unlock()
				s.finishGoAway() // still the writer: nobody else writes
				return
			}
			s.setQ(qWriting, false)
			s.qmu.Unlock()
			return
		}
		s.qmu.Unlock()
		if err := s.write(q); err != nil {
			s.qmu.Lock()
			s.setQ(qWriting, false)
			s.qmu.Unlock()
			s.close("write_error")
			return
		}
	}
}
