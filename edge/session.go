package edge

import (
	"errors"
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
)

// session is one device connection, whatever its transport.
//
// Locks, always taken in this order: smu → bucket/room locks → qmu. wmu
// only wraps transport writes and is never held while taking another lock.
type session struct {
	srv *Server
	t   transport
	ip  string

	// Set once during auth (under smu, before the session is published
	// in a bucket) and read-only afterwards.
	mid int64
	key string
	hb  time.Duration // heartbeat deadline
	b   *bucket

	// smu guards lifecycle and membership: closed, authed, rooms.
	smu    sync.Mutex
	closed bool
	authed bool
	rooms  []*room

	// qmu guards the send queue and the accept set, which pushes from
	// RPC goroutines read.
	qmu     sync.Mutex
	qclosed bool
	writing bool // a drain goroutine owns the queue
	queue   [][]byte
	accepts acceptSet

	// wmu serialises writes to the transport: netpoll's Writer and the
	// WebSocket writer are not goroutine-safe, and -race cannot see
	// netpoll's buffers, so every transport write goes through it.
	wmu sync.Mutex
	// wdone (under wmu) forbids further writes: Hertz recycles a hijacked
	// connection once the WebSocket reader returns.
	wdone bool

	// deadline is when the wheel closes the session (unix nanos): the
	// handshake deadline, then the heartbeat deadline.
	deadline atomic.Int64
	// lastRenew is when logic last renewed this route (reader only).
	lastRenew time.Time

	// wheel links, guarded by the wheel's lock.
	wprev, wnext *session
	wslot        int32
}

func newSession(srv *Server, t transport, ip string) *session {
	s := &session{srv: srv, t: t, ip: ip, wslot: -1}
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
	s.qclosed = true
	s.queue = nil
	s.qmu.Unlock()

	_ = s.t.close()
	s.srv.wheel.remove(s)
	closesTotal.WithLabelValues(reason).Inc()
	connectionsGauge.WithLabelValues(s.t.kind()).Dec()
	if !authed {
		return
	}
	s.srv.sessionClosed(s)
	// A session replaced by a newer one with the same key is no longer in
	// the bucket; its route now belongs to the newer one, so leave it.
	if s.b.delIfSame(s.key, s) {
		s.disconnectLogic()
	}
}

// disconnectLogic removes this connection's route in logic, in the
// background (bounded by the server's disconnect slots and LogicTimeout).
func (s *session) disconnectLogic() {
	s.srv.disconnect(s.mid, s.key)
}
