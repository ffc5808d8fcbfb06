package edge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/logic"
	"github.com/goim-edge/goim-edge/protocol"
)

// handle acts on one client frame. An error closes the connection with
// the error as reason; frames are processed strictly in order.
func (s *session) handle(f protocol.Frame) error {
	s.smu.Lock()
	authed, closed := s.authed, s.closed
	s.smu.Unlock()
	if closed {
		return errClosed
	}
	if !authed {
		if f.Op == protocol.OpResume {
			// The one frame allowed ahead of auth: it is kept and served
			// once auth succeeds (resume.go).
			return s.stashResume(f)
		}
		return s.auth(f)
	}
	if f.Op == protocol.OpHeartbeat {
		if now := time.Now(); s.fastHeartbeat(now) {
			// A device heartbeating far faster than any client does
			// pays like any other frame (see heartbeatFreeGap).
			if ok, err := s.allowUpstream(monotonic(now)); !ok {
				return err
			}
		}
		return s.heartbeat(f)
	}
	if limitedOp(f.Op) {
		ok, err := s.allowUpstream(monotonic(time.Now()))
		if !ok {
			return err // dropped without a reply; an error closes
		}
	}
	switch f.Op {
	case protocol.OpChangeRoom:
		body := f.Body
		if !s.changeRoom(string(f.Body)) {
			body = nil
		}
		return s.reply(f, protocol.OpChangeRoomReply, body)
	case protocol.OpJoinRoom:
		body := f.Body
		if !s.join(string(f.Body)) {
			body = nil
		}
		return s.reply(f, protocol.OpJoinRoomReply, body)
	case protocol.OpLeaveRoom:
		s.leave(string(f.Body))
		return s.reply(f, protocol.OpLeaveRoomReply, f.Body)
	case protocol.OpSub:
		ops := parseOps(f.Body)
		s.qmu.Lock()
		s.accepts.add(ops...)
		s.qmu.Unlock()
		return s.reply(f, protocol.OpSubReply, f.Body)
	case protocol.OpResume:
		return s.resume(f)
	case protocol.OpAck:
		if err := s.ack(f); err != nil {
			return err
		}
		return s.reply(f, protocol.OpAckReply, nil)
	case protocol.OpUnsub:
		ops := parseOps(f.Body)
		s.qmu.Lock()
		s.accepts.remove(ops...)
		s.qmu.Unlock()
		return s.reply(f, protocol.OpUnsubReply, f.Body)
	}
	if !upstreamOp(f.Op) {
		return fmt.Errorf("%w: %d", errUnknownOp, f.Op)
	}
	s.receive(f)
	// goim answers upstream messages with the same op and seq, empty body.
	return s.reply(f, f.Op, nil)
}

// upstreamOp reports whether a client may send op as a message for logic:
// goim's SendMsg, the ops a goim fork uses for sync/ack (18–21), and
// business ops. Other ops below 1000 are server-side or unused, and a
// client sending them is not speaking the protocol.
func upstreamOp(op int32) bool {
	return op == protocol.OpSendMsg || (op >= 18 && op <= 21) || op >= 1000
}

func (s *session) auth(f protocol.Frame) error {
	if f.Op != protocol.OpAuth {
		authTotal.WithLabelValues("refused").Inc()
		return fmt.Errorf("%w: op %d", errNotAuth, f.Op)
	}
	srv := s.srv
	if srv.draining.Load() {
		return errDraining
	}
	ctx, cancel := context.WithTimeout(context.Background(), srv.cfg.LogicTimeout)
	resp, err := srv.logic.Connect(ctx, &logic.ConnectReq{
		Server:     srv.cfg.Node,
		Token:      f.Body,
		RemoteAddr: s.t.remoteAddr(),
	})
	cancel()
	if err != nil {
		// A refused token is the device's fault; anything else is an
		// outage of logic (or the way to it), counted apart so a logic
		// outage does not look like a wave of bad tokens.
		var refused *logic.AuthRefused
		if errors.As(err, &refused) {
			authTotal.WithLabelValues("refused").Inc()
			return fmt.Errorf("%w: %w", errAuthFailed, err)
		}
		authTotal.WithLabelValues("error").Inc()
		logicErrorsTotal.WithLabelValues("connect").Inc()
		return fmt.Errorf("%w: %w", errAuthUnavailable, logicError(err))
	}
	if resp.Key == "" {
		authTotal.WithLabelValues("error").Inc()
		return errEmptyKey
	}
	srv.observeEpoch(resp.StoreEpoch)
	s.mid, s.key = resp.Mid, resp.Key
	hb := time.Duration(resp.HeartbeatMs) * time.Millisecond
	if hb <= 0 {
		hb = srv.cfg.idleDeadline()
	}
	s.setHeartbeat(hb)
	s.qmu.Lock()
	s.accepts = newAcceptSet(resp.Accepts)
	s.qmu.Unlock()
	s.setGrants(resp.RoomGrants, resp.IsSetRoomGrants())
	now := time.Now()
	s.lastRenew = monoMillis(now)
	s.deadline.Store(now.Add(s.hb()).UnixNano())

	// Publish (key and rooms) while owning the send queue, then reply:
	// pushes that find the session meanwhile queue behind the auth reply,
	// so a device never sees a push ahead of it, and is in its rooms by
	// the time it reads it (a push sent after the reply reaches it).
	// Nothing writes to a session before it is published, so the queue
	// is free; should a writer hold it anyway, that writer stays in charge
	// (pushes still queue behind it) and is not released here.
	// A device that sent op 26 first is made positioned, its streams
	// held, before it can receive any push (resume.go).
	var pend *pendingResume
	if s.ext != nil && s.ext.pending != nil {
		pend, s.ext.pending = s.ext.pending, nil
		s.beginResume(s.followedStreams(pend.req, resp.Mid, resp.Rooms))
	}
	took := s.takeWriter()
	release := func() {
		if took {
			s.releaseWriter()
		}
	}
	s.smu.Lock()
	if s.closed {
		s.smu.Unlock()
		release()
		s.disconnectLogic()
		return errClosed
	}
	s.authed = true
	// Publishing under smu means close either runs before (and we stop
	// here) or sees authed and unpublishes (and tells logic).
	old := srv.bucketFor(s.key).put(s.key, s)
	for _, id := range resp.Rooms {
		s.joinLocked(id)
	}
	s.smu.Unlock()
	srv.sessionOpened(s) // counted now: a close from here on uncounts it
	err = s.reply(f, protocol.OpAuthReply, nil)
	release()
	if err != nil {
		return err // the caller closes the session, which unpublishes it
	}
	authTotal.WithLabelValues("ok").Inc()
	if old != nil {
		old.close("replaced")
	}
	if pend != nil {
		// Judged by the rooms actually joined (a token room may be over
		// max_rooms or too long).
		s.runResume(pend.req, s.followedStreams(pend.req, s.mid, s.roomIDs()), pend.ver, pend.seq)
	}
	if srv.draining.Load() {
		// The drain began while logic was answering, and its passes
		// may be over: end this device the way they would have.
		s.goAway()
	}
	return nil
}

// heartbeatFreeGap is the least time since the previous heartbeat (or
// auth) for a heartbeat to be free of the upstream rate limit. goim's
// clients heartbeat every 30 s to 4 min; a heartbeat flood would
// otherwise cost a reply write per 16 bytes received, and a flooder that
// never reads those replies would fill its socket and hold the reader in
// a write while its input piles up.
const heartbeatFreeGap = time.Second

// fastHeartbeat reports whether a heartbeat at now comes within
// heartbeatFreeGap of the previous one. The previous heartbeat is where
// the current deadline came from, so this costs no state.
func (s *session) fastHeartbeat(now time.Time) bool {
	last := s.deadline.Load() - int64(s.hb())
	return now.UnixNano()-last < int64(heartbeatFreeGap)
}

func (s *session) heartbeat(f protocol.Frame) error {
	now := time.Now()
	s.deadline.Store(now.Add(s.hb()).UnixNano())
	if mono := monoMillis(now); time.Duration(mono-s.lastRenew)*time.Millisecond >= s.srv.cfg.RouteRenewInterval {
		s.lastRenew = mono
		s.srv.renewRoute(s.mid, s.key)
	}
	var body [4]byte
	n := s.onlineCount()
	body[0], body[1], body[2], body[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return s.reply(f, protocol.OpHeartbeatReply, body[:])
}

// onlineCount is the heartbeat reply body: the members of the
// connection's first room, cluster-wide when logic has reported it.
func (s *session) onlineCount() int32 {
	s.smu.Lock()
	var r *room
	if len(s.rooms) > 0 {
		r = s.rooms[0]
	}
	s.smu.Unlock()
	if r == nil {
		return 0
	}
	return s.srv.roomOnline(r)
}

// changeRoom is goim's op 12: leave every room, then join id ("" = none).
// A room outside the connection's grants is refused (false) and leaves
// its rooms as they were.
func (s *session) changeRoom(id string) bool {
	if id != "" && !s.mayJoin(id) {
		roomRefusedTotal.WithLabelValues("12").Inc()
		return false
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.closed {
		return false
	}
	for _, r := range s.rooms {
		r.leave(s)
	}
	s.rooms = s.rooms[:0]
	if id != "" {
		s.joinLocked(id) // an over-long id joins nothing; goim echoes it anyway
	}
	return true
}

// join adds one room (extension op 22); false when refused (outside the
// grants, or see joinLocked).
func (s *session) join(id string) bool {
	if id != "" && !s.mayJoin(id) {
		roomRefusedTotal.WithLabelValues("22").Inc()
		return false
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.closed {
		return false
	}
	return s.joinLocked(id)
}

// maxRoomID bounds room ids taken from devices and tokens.
const maxRoomID = protocol.MaxRoomID

func (s *session) joinLocked(id string) bool {
	if id == "" || len(id) > maxRoomID {
		return false
	}
	for _, r := range s.rooms {
		if r.id == id {
			return true
		}
	}
	if len(s.rooms) >= s.srv.cfg.MaxRooms {
		return false
	}
	s.rooms = append(s.rooms, s.srv.joinRoom(id, s))
	return true
}

// leave removes one room (extension op 24).
func (s *session) leave(id string) {
	s.smu.Lock()
	defer s.smu.Unlock()
	for i, r := range s.rooms {
		if r.id == id {
			r.leave(s)
			s.rooms = append(s.rooms[:i], s.rooms[i+1:]...)
			return
		}
	}
}

// reply writes a reply frame at once from the reader, echoing ver and seq.
func (s *session) reply(req protocol.Frame, op int32, body []byte) error {
	frame := protocol.AppendFrame(make([]byte, 0, protocol.HeaderLen+len(body)), req.Ver, op, req.Seq, body)
	err := s.write([][]byte{frame})
	if err != nil {
		return fmt.Errorf("edge: write reply op %d: %w", op, err)
	}
	return nil
}
