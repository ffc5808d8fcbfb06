package edge

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// transport is how a session reaches its device: raw TCP on netpoll or a
// WebSocket. Calls to write are serialised by session.wmu.
type transport interface {
	// kind is "tcp" or "ws" (metrics label, logs).
	kind() string
	// write sends server frames in order and flushes. An OpRaw frame is
	// sent as the transport's protocol requires (TCP: inner frames only;
	// WebSocket: outer header + inner frames in one message). A nil entry
	// is a keepalive ping (WebSocket only).
	write(msgs [][]byte) error
	// close closes the connection; it is idempotent.
	close() error
	remoteAddr() string
}

// Errors that end a connection; each becomes a closesTotal reason.
var (
	errNotAuth    = errors.New("edge: first frame is not auth")
	errDraining   = errors.New("edge: draining, not taking connections")
	errUnknownOp  = errors.New("edge: op not allowed from clients")
	errClosed     = errors.New("edge: connection closed")
	errEmptyKey   = errors.New("edge: logic returned an empty key")
	errAuthFailed = errors.New("edge: auth refused")
	// errAuthUnavailable: logic could not answer Connect (outage, timeout).
	errAuthUnavailable = errors.New("edge: auth unavailable")
)

// session is one device connection, whatever its transport.
//
// Locks, always taken in this order: smu → bucket/room locks → qmu. wmu
// only wraps transport writes and is never held while taking another lock.
//
// An edge holds one per idle device, so the struct is kept within Go's
// 192-byte size class: the client IP and the bucket are derived when
// needed instead of stored, times are int64 nanoseconds or wrapping
// int32 milliseconds, the flags share one word (each still guarded by the
// lock named beside it), and state few connections need is behind ext.
type session struct {
	srv *Server
	t   transport

	// Set once during auth (under smu, before the session is published
	// in a bucket) and read-only afterwards.
	mid int64
	key string

	rooms []*room // under smu

	// ext holds what only some connections need: the upstream token
	// bucket (made on the first limited frame) and room grants (jwt and
	// webhook modes). Kept out of line so an idle json-mode device pays
	// one pointer for it. Set by the reader, and at auth before publish.
	ext *sessionExt

	// The send queue and the accept set, under qmu: pushes from RPC
	// goroutines read them.
	queue   [][]byte
	accepts acceptSet

	// deadline is when the wheel closes the session (unix nanos): the
	// handshake deadline, then the heartbeat deadline.
	deadline atomic.Int64

	// wheel links, guarded by the wheel's lock.
	wprev, wnext *session

	// smu guards lifecycle and membership: closed, authed, rooms. qmu
	// guards the send queue: queue, accepts, qflags.
	smu sync.Mutex
	qmu sync.Mutex
	// wmu serialises writes to the transport: netpoll's Writer and the
	// WebSocket writer are not goroutine-safe, and -race cannot see
	// netpoll's buffers, so every transport write goes through it.
	wmu sync.Mutex

	// lastRenew is when logic last renewed this route, as monoMillis()
	// (reader only). 32 bits of milliseconds wrap every 24.8 days, but
	// the differences taken are exact: two heartbeats are never further
	// apart than the heartbeat deadline, which hbMillis caps below that.
	lastRenew int32
	// hbMillis is the heartbeat deadline in milliseconds (set in auth).
	hbMillis int32
	wslot    int16 // wheel slot (wheelSlots fit), under the wheel's lock

	closed, authed bool // under smu
	// qflags (under qmu): the send queue's state, see qflag.
	qflags qflag
	// wdone (under wmu) forbids further writes: Hertz recycles a hijacked
	// connection once the WebSocket reader returns.
	wdone bool
}

// qflag is one bit of session.qflags. They share a byte, all under qmu,
// to keep the session within its size class.
type qflag uint8

const (
	// qClosed: the session is closed; its queue takes nothing.
	qClosed qflag = 1 << iota
	// qWriting: a writer (a drain goroutine, a fan-out worker, auth)
	// owns the queue; pushes queue behind it.
	qWriting
	// qGoingAway: a drain is ending the session; it takes no more pushes,
	// and whoever owns the queue writes what is in it, says goodbye and
	// closes (see goaway.go).
	qGoingAway
	// qPositioned: the device opted into recovery (op 26): pushes with a
	// position in one of its streams reach it as op-28 frames (resume.go).
	qPositioned
)

// q reports whether f is set (qmu held).
func (s *session) q(f qflag) bool { return s.qflags&f != 0 }

// setQ sets or clears f (qmu held).
func (s *session) setQ(f qflag, on bool) {
	if on {
		s.qflags |= f
	} else {
		s.qflags &^= f
	}
}

// newSession registers a new connection, or returns nil when an
// admission limit refuses it (the caller closes the connection).
func newSession(srv *Server, t transport) *session {
	if !srv.reserveConn(t.kind(), t.remoteAddr()) {
		return nil
	}
	s := &session{srv: srv, t: t, wslot: -1}
	s.deadline.Store(time.Now().Add(srv.cfg.HandshakeTimeout).UnixNano())
	connectionsGauge.WithLabelValues(t.kind()).Inc()
	srv.wheel.add(s)
	return s
}

// close ends the session once: transport, wheel, rooms, bucket and the
// logic route. It may be called from any goroutine.
func (s *session) close(reason string) {
	s.smu.Lock()
	if s.closed {
		s.smu.Unlock()
		return
	}
	s.closed = true
	rooms := s.rooms
	s.rooms = nil
	authed := s.authed
	for _, r := range rooms {
		r.leave(s)
	}
	s.smu.Unlock()

	s.qmu.Lock()
	s.setQ(qClosed, true)
	s.queue = nil
	s.qmu.Unlock()

	s.closeTransport(reason) // WebSocket: a close frame first (wsclose.go)
	s.srv.releaseConn(s.t.remoteAddr())
	s.srv.wheel.remove(s)
	closesTotal.WithLabelValues(reason).Inc()
	connectionsGauge.WithLabelValues(s.t.kind()).Dec()
	if !authed {
		return
	}
	s.srv.sessionClosed(s)
	// A session replaced by a newer one with the same key is no longer in
	// the bucket; its route now belongs to the newer one, so leave it.
	if s.srv.bucketFor(s.key).delIfSame(s.key, s) {
		s.disconnectLogic()
	}
}

// isClosed reports whether close has run.
func (s *session) isClosed() bool {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.closed
}

// monoBase anchors monotonic.
var monoBase = time.Now()

// monotonic is t as nanoseconds on the process's monotonic clock: an int64
// (a time.Time would cost a session 16 more bytes) that wall-clock
// steps do not move.
func monotonic(t time.Time) int64 { return int64(t.Sub(monoBase)) }

// monoMillis is monotonic(t) in milliseconds, wrapped to 32 bits (see
// session.lastRenew).
func monoMillis(t time.Time) int32 { return int32(monotonic(t) / int64(time.Millisecond)) }

// hb is the heartbeat deadline logic gave at auth.
func (s *session) hb() time.Duration { return time.Duration(s.hbMillis) * time.Millisecond }

// setHeartbeat stores d, clamped to what hbMillis holds (24 days).
func (s *session) setHeartbeat(d time.Duration) {
	s.hbMillis = int32(min(d.Milliseconds(), math.MaxInt32))
}

// ip is the client's address without the port, for the distinct-IP
// count; derived on demand (at publish and close) rather than stored.
func (s *session) ip() string { return hostOf(s.t.remoteAddr()) }

// disconnectLogic removes this connection's route in logic, in the
// background (bounded by the server's disconnect slots and LogicTimeout).
func (s *session) disconnectLogic() {
	s.srv.disconnect(s.mid, s.key)
}
