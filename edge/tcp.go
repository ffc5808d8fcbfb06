package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"

	"github.com/cloudwego/netpoll"

	"github.com/goim-edge/goim-edge/protocol"
)

// tcpConn is the raw TCP transport: goim frames on a netpoll connection.
// It is also the connection's netpoll context: OnPrepare returns it, and
// OnRequest and OnDisconnect find the session in it, so a connection
// costs one small object here instead of a transport, a context and a
// close callback.
type tcpConn struct {
	context.Context
	c    netpoll.Connection
	sess *session
	// peerGone is set when a write found the peer gone (EPIPE,
	// ECONNRESET); see close.
	peerGone atomic.Bool
}

// tcpConnOf returns the transport OnPrepare attached to a connection.
func tcpConnOf(ctx context.Context) *tcpConn {
	t, _ := ctx.(*tcpConn)
	return t
}

func (t *tcpConn) kind() string { return "tcp" }

// close closes the connection, or leaves it to the poller once a write
// found the peer gone (see peergone.go).
func (t *tcpConn) close() error {
	if t.peerGone.Load() {
		closeAfterGrace(t.c)
		return nil
	}
	return t.c.Close()
}

func (t *tcpConn) remoteAddr() string { return t.c.RemoteAddr().String() }

// inputLen is how many received bytes netpoll holds for the reader.
func (t *tcpConn) inputLen() int { return t.c.Reader().Len() }

// write hands msgs to netpoll and flushes. Callers hold session.wmu:
// netpoll's Writer is not goroutine-safe. OpRaw batches go out as their
// inner frames (goim's TCP client counts those).
//
// Frames are linked into netpoll's output buffer with WriteDirect, never
// copied: they are immutable once built (a room batch is shared by every
// member), and an output buffer that never copies holds no buffer of its
// own between writes, which is most of an idle connection's cost.
// WriteDirect must not be mixed with WriteBinary on one connection.
func (t *tcpConn) write(msgs [][]byte) error {
	w := t.c.Writer()
	for _, m := range msgs {
		if m == nil {
			continue // keepalive pings are a WebSocket matter; TCP has kernel keepalive
		}
		if isRaw(m) {
			m = m[protocol.HeaderLen:]
		}
		if err := w.WriteDirect(m, 0); err != nil {
			return fmt.Errorf("edge: tcp write: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		if isPeerGone(err) {
			t.peerGone.Store(true)
		}
		return fmt.Errorf("edge: tcp flush: %w", err)
	}
	return nil
}

// isRaw reports whether a server frame is an OpRaw batch.
func isRaw(m []byte) bool {
	return len(m) >= protocol.HeaderLen && m[8] == 0 && m[9] == 0 && m[10] == 0 && m[11] == byte(protocol.OpRaw)
}

// listenTCP binds the TCP port; serveTCP starts taking connections.
func (s *Server) listenTCP() error {
	ln, err := netpoll.CreateListener("tcp", s.cfg.TCPAddr)
	if err != nil {
		return fmt.Errorf("edge: listen tcp %s: %w", s.cfg.TCPAddr, err)
	}
	loop, err := netpoll.NewEventLoop(s.onTCPRequest,
		netpoll.WithOnPrepare(s.onTCPPrepare),
		netpoll.WithOnDisconnect(onTCPDisconnect),
		netpoll.WithReadTimeout(s.cfg.ReadTimeout),
		netpoll.WithWriteTimeout(s.cfg.WriteTimeout),
		netpoll.WithIdleTimeout(s.cfg.TCPKeepalive),
	)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("edge: tcp event loop: %w", err)
	}
	s.tcpLn, s.tcpLoop = ln, loop
	s.addrs.TCP = ln.Addr().String()
	return nil
}

func (s *Server) serveTCP() {
	loop, ln := s.tcpLoop, s.tcpLn
	go func() {
		// Once Shutdown has closed the listener, netpoll may report that
		// as an error of its own (EBADF when it had not polled it yet).
		if err := loop.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) && !s.closing.Load() {
			s.log.Error("edge: tcp serve", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// onTCPPrepare creates the session before the connection is polled, so
// the handshake deadline runs even if the device never sends a byte.
func (s *Server) onTCPPrepare(c netpoll.Connection) context.Context {
	ctx := context.Background()
	if s.draining.Load() {
		refusedTotal.WithLabelValues("tcp", "draining").Inc()
		_ = c.Close()
		return ctx
	}
	t := &tcpConn{Context: ctx, c: c}
	if t.sess = newSession(s, t); t.sess == nil {
		_ = c.Close() // refused by a limit; OnRequest finds no session
		return ctx
	}
	limitReceiveBuffer(c, s.cfg.MaxInputBuffer, s.log)
	return t
}

// limitReceiveBuffer caps the kernel's receive buffer of a device
// connection at about max bytes (Linux doubles the value for its own
// bookkeeping). netpoll reads whatever the kernel holds in one go, so
// this caps how much one poller read can add to a connection's input
// between two checks of MaxInputBuffer, and it keeps the TCP window a
// device sees small: goim devices send small frames, and the
// autotuned default (up to tcp_rmem's maximum, tens of MiB) only serves
// bulk uploads.
func limitReceiveBuffer(c netpoll.Connection, max int, log *slog.Logger) {
	fc, ok := c.(interface{ Fd() int })
	if !ok {
		return
	}
	if err := syscall.SetsockoptInt(fc.Fd(), syscall.SOL_SOCKET, syscall.SO_RCVBUF, max); err != nil {
		log.Debug("edge: set receive buffer", "err", err)
	}
}

// onTCPDisconnect closes the session of a connection the poller found
// closed or broken (peer close, reset, keepalive failure). Every other
// close starts at session.close, so this and the edge's own error paths
// cover them all without a close callback per connection. It runs on the
// poller, as close callbacks would, and session.close does not block on
// the network.
func onTCPDisconnect(ctx context.Context, _ netpoll.Connection) {
	if t := tcpConnOf(ctx); t != nil {
		t.sess.close("peer")
	}
}

// onTCPRequest handles every whole frame buffered on c. netpoll calls it
// again at once while input remains, so it consumes frames until the
// buffer is empty; a partial frame blocks in Peek/Next until the rest
// arrives or ReadTimeout ends it (closing the connection).
//
// Memory under an upstream flood. Backpressure would be the natural
// bound (stop reading a device whose frames are not processed yet, and
// let TCP flow control slow it down), but netpoll v0.7.5 cannot stop
// reading a connection: every epoll registration it makes carries
// EPOLLIN, level-triggered (poll_default_linux.go, Control), and on each
// readable event the poller books more input buffer and reads into it
// (connection_reactor.go, inputs/inputAck, up to 8 MiB a read) whether or
// not this handler is still busy; the Connection API has no pause, and
// leaving input unread only makes netpoll call OnRequest again at once.
// So the edge bounds what it holds instead: a connection whose buffered,
// unprocessed input passes MaxInputBuffer is closed — checked here
// before every frame, and every inputWatchEvery while the handler waits
// for logic (upstream.go), the only place it waits on another party
// besides a reply write to a device that stopped reading (bounded by
// WriteTimeout). The rate limit in handle keeps a flooding device's
// frames cheap (dropped without a reply or a call to logic) so that the
// reader keeps up, and closes the device soon after.
func (s *Server) onTCPRequest(ctx context.Context, c netpoll.Connection) error {
	t := tcpConnOf(ctx)
	if t == nil {
		return c.Close()
	}
	sess := t.sess
	r := c.Reader()
	limit := s.cfg.MaxInputBuffer
	for r.Len() > 0 {
		if r.Len() > limit {
			inputOverflowTotal.Inc()
			sess.close("input_overflow")
			return nil
		}
		hdr, err := r.Peek(protocol.HeaderLen)
		if err != nil {
			sess.close("read_error")
			return nil
		}
		h, err := protocol.ParseHeader(hdr, protocol.MaxPackSize)
		if err != nil {
			s.log.Debug("edge: bad frame", "remote", sess.t.remoteAddr(), "err", err)
			sess.close("bad_frame")
			return nil
		}
		buf, err := r.Next(int(h.PackLen))
		if err != nil {
			sess.close("read_error")
			return nil
		}
		err = sess.handle(protocol.Frame{Ver: h.Ver, Op: h.Op, Seq: h.Seq, Body: buf[protocol.HeaderLen:]})
		_ = r.Release()
		if err != nil {
			s.log.Debug("edge: close connection", "remote", sess.t.remoteAddr(), "err", err)
			sess.close(closeReason(err))
			return nil
		}
	}
	return nil
}

// closeReason is the metrics label for an error that ended a connection.
func closeReason(err error) string {
	switch {
	case errors.Is(err, errNotAuth):
		return "not_auth"
	case errors.Is(err, errAuthFailed), errors.Is(err, errEmptyKey):
		return "auth_failed"
	case errors.Is(err, errAuthUnavailable):
		return "auth_unavailable"
	case errors.Is(err, errDraining):
		return "draining"
	case errors.Is(err, errUnknownOp):
		return "unknown_op"
	case errors.Is(err, errClosed):
		return "closed"
	case errors.Is(err, errRateLimited):
		return "rate_limited"
	default:
		return "write_error"
	}
}
