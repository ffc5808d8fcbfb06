package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"

	"github.com/goim-edge/goim-edge/protocol"
)

// The netpoll WebSocket transport (ws_transport = "netpoll"): the ws port
// runs its own netpoll event loop, which does the HTTP/1.1 upgrade on a
// connection's first bytes (gobwas/ws's Upgrader) and from then on reads
// frames from the loop as the TCP port reads goim frames: a handler runs
// while bytes are buffered, and an idle connection has no goroutine.
// See docs/websocket.md.

// wsnMaxRequest bounds an upgrade request's bytes (request line and
// headers); longer ones are refused (431) rather than buffered.
const wsnMaxRequest = 8 << 10

// wsnLoop is the netpoll WebSocket port.
type wsnLoop struct {
	ln   netpoll.Listener
	loop netpoll.EventLoop
}

// listenWSNetpoll binds addr for the netpoll WebSocket transport.
func (s *Server) listenWSNetpoll(addr string) (*wsnLoop, error) {
	ln, err := netpoll.CreateListener("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("edge: listen websocket %s: %w", addr, err)
	}
	loop, err := netpoll.NewEventLoop(s.onWSNRequest,
		netpoll.WithOnPrepare(s.onWSNPrepare),
		netpoll.WithOnDisconnect(onWSNDisconnect),
		netpoll.WithReadTimeout(s.cfg.HandshakeTimeout),
		netpoll.WithWriteTimeout(s.cfg.WriteTimeout),
		netpoll.WithIdleTimeout(s.cfg.TCPKeepalive),
	)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("edge: websocket event loop: %w", err)
	}
	return &wsnLoop{ln: ln, loop: loop}, nil
}

// serve runs the loop until Shutdown.
func (p *wsnLoop) serve(s *Server) {
	go func() {
		if err := p.loop.Serve(p.ln); err != nil && !errors.Is(err, net.ErrClosed) && !s.closing.Load() {
			s.log.Error("edge: websocket serve", "addr", p.ln.Addr().String(), "err", err)
		}
	}()
}

// onWSNPrepare starts the handshake deadline: the session (and the
// admission slots) come with the upgrade, as on the hertz transport, so
// until then a timer closes a connection that never upgrades.
func (s *Server) onWSNPrepare(c netpoll.Connection) context.Context {
	t := &wsnConn{Context: context.Background(), c: c, srv: s}
	t.handshake = time.AfterFunc(s.cfg.HandshakeTimeout, func() {
		if t.sess.Load() == nil {
			_ = c.Close()
		}
	})
	limitReceiveBuffer(c, s.cfg.MaxInputBuffer, s.log)
	return t
}

// onWSNDisconnect closes the session of a connection the poller found
// closed or broken.
func onWSNDisconnect(ctx context.Context, _ netpoll.Connection) {
	t := wsnConnOf(ctx)
	if t == nil {
		return
	}
	// A connection gone before its upgrade leaves its handshake timer to
	// fire on a closed connection (a no-op); only the handler touches it.
	if sess := t.sess.Load(); sess != nil {
		sess.close("peer")
	}
}

// onWSNRequest handles what is buffered on c: the upgrade request, then
// frames.
func (s *Server) onWSNRequest(ctx context.Context, c netpoll.Connection) error {
	t := wsnConnOf(ctx)
	if t == nil {
		return c.Close()
	}
	r := c.Reader()
	if t.closing.Load() {
		// Ended: drop what the device still sends (netpoll calls the
		// handler until the input is consumed) until the socket closes.
		_ = r.Skip(r.Len())
		_ = r.Release()
		return nil
	}
	sess := t.sess.Load()
	if sess == nil {
		return s.wsnUpgrade(t)
	}
	s.wsnFrames(t, sess)
	return nil
}

// wsnUpgrade answers the upgrade request once its headers are in: 101 and
// a session, or an HTTP error and a close. Refusals mirror the hertz
// transport's: 404 off ws_path, 503 while draining or when a limit would
// refuse the connection, close code 1013 when the last slot went to
// another device after the 101.
func (s *Server) wsnUpgrade(t *wsnConn) error {
	c := t.c
	r := c.Reader()
	var req []byte
	for {
		n := r.Len()
		b, err := r.Peek(n)
		if err != nil {
			return c.Close()
		}
		i := bytes.Index(b, []byte("\r\n\r\n"))
		if i >= 0 && i+4 <= wsnMaxRequest {
			if req, err = r.Next(i + 4); err != nil {
				return c.Close()
			}
			break
		}
		if i >= 0 || n >= wsnMaxRequest {
			_, _ = io.WriteString(netpollWriter{c}, "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			_ = c.Writer().Flush()
			return c.Close()
		}
		// Wait for more of the request, within the read timeout
		// (HandshakeTimeout until the upgrade).
		if _, err := r.Peek(n + 1); err != nil {
			return c.Close()
		}
	}
	addr := t.remoteAddr()
	// With compression off the negotiator starts out "done", so it
	// declines every offer.
	neg := wsNegotiator{accepted: !s.cfg.WSCompression}
	up := ws.Upgrader{
		OnRequest: func(uri []byte) error {
			if i := bytes.IndexByte(uri, '?'); i >= 0 {
				uri = uri[:i]
			}
			if string(uri) != s.cfg.WSPath {
				return wsnRefuse(404)
			}
			return nil
		},
		Negotiate: neg.negotiate,
		// Origins are not checked, as on the hertz transport: goim's demo
		// page is served from anywhere, and devices authenticate with
		// their token.
		OnBeforeUpgrade: func() (ws.HandshakeHeader, error) {
			if s.draining.Load() {
				refusedTotal.WithLabelValues("ws", "draining").Inc()
				return nil, wsnRefuse(503)
			}
			if s.wouldRefuse("ws", addr) {
				return nil, wsnRefuse(503)
			}
			// No extra headers; the Upgrader wants a non-nil one.
			return ws.HandshakeHeaderString(""), nil
		},
	}
	w := netpollWriter{c}
	_, err := up.Upgrade(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(req), w})
	_ = r.Release()
	if err == nil {
		err = c.Writer().Flush()
	} else {
		_ = c.Writer().Flush() // the error response
	}
	if err != nil {
		s.log.Debug("edge: websocket upgrade", "remote", addr, "err", err)
		return c.Close()
	}
	if !t.handshake.Stop() {
		// The handshake deadline passed meanwhile and closed the
		// connection: no session for it.
		return c.Close()
	}
	t.handshake = nil
	if neg.accepted && s.cfg.WSCompression {
		t.rd.deflate = true
		t.compressMin = int32(max(s.cfg.WSCompressMin, 1))
	}
	sess := newSession(s, t)
	if sess == nil {
		// Lost a race for the last slot after the upgrade.
		t.sendClose(wsCloseTryLater, "edge full")
		return t.close()
	}
	_ = c.SetReadTimeout(s.cfg.ReadTimeout)
	t.sess.Store(sess)
	if r.Len() > 0 {
		s.wsnFrames(t, sess) // frames sent right behind the request
	}
	return nil
}

// wsnRefuse is an upgrade refusal with status; the connection closes
// after it, and says so, as the hertz transport's refusals do.
func wsnRefuse(status int) error {
	return ws.RejectConnectionError(ws.RejectionStatus(status), ws.RejectionHeader(wsnConnectionClose))
}

// wsnConnectionClose is the header of every refusal.
var wsnConnectionClose = ws.HandshakeHeaderString("Connection: close\r\n")

// netpollWriter copies writes into a connection's output buffer (the
// upgrade response; frames are linked, not copied, see wsnConn.write).
type netpollWriter struct{ c netpoll.Connection }

func (w netpollWriter) Write(p []byte) (int, error) {
	if err := w.c.Writer().WriteDirect(bytes.Clone(p), 0); err != nil {
		return 0, err
	}
	return len(p), nil
}

// wsnFrames reads every frame buffered on the connection. A frame that
// has begun must be whole within ReadTimeout (netpoll's read timeout on
// the blocking Next), and a fragmented message within ReadTimeout of its
// first frame: while one is open the handler waits for the rest rather
// than return, as it does for the rest of a frame. Input past
// MaxInputBuffer closes the connection, as on TCP (see tcp.go).
func (s *Server) wsnFrames(t *wsnConn, sess *session) {
	r := t.c.Reader()
	limit := s.cfg.MaxInputBuffer
	for {
		if m := t.rd.msg; m != nil {
			left := time.Duration(m.start+int64(s.cfg.ReadTimeout)) - time.Duration(monotonic(time.Now()))
			if left <= 0 {
				s.wsnEnd(t, sess, "read_timeout")
				return
			}
			_ = t.c.SetReadTimeout(left)
		} else if r.Len() == 0 {
			return
		}
		if r.Len() > limit {
			inputOverflowTotal.Inc()
			s.wsnEnd(t, sess, "input_overflow")
			return
		}
		f, err := t.rd.next(r, monotonic(time.Now()))
		if err == nil {
			err = s.wsnHandle(t, sess, f)
		}
		_ = r.Release()
		if err != nil {
			s.wsnEnd(t, sess, wsnReason(err))
			return
		}
		if t.rd.msg == nil {
			_ = t.c.SetReadTimeout(s.cfg.ReadTimeout)
		}
	}
}

// wsnHandle acts on one frame the reader returned.
func (s *Server) wsnHandle(t *wsnConn, sess *session, f wsFrame) error {
	switch f.op {
	case ws.OpContinuation: // a fragment stored; nothing yet
		return nil
	case ws.OpPing:
		sess.wmu.Lock()
		var err error
		if !sess.wdone {
			err = t.writeControl(ws.OpPong, f.payload)
		}
		sess.wmu.Unlock()
		return err
	case ws.OpPong:
		return nil
	}
	defer t.rd.done()
	msg := f.payload
	if f.compressed {
		bp := wsInflateBuffers.Get().(*[]byte)
		defer wsInflateBuffers.Put(bp)
		n, err := wsInflate(*bp, msg)
		if err != nil {
			return err
		}
		msg = (*bp)[:n]
	}
	if len(msg) > protocol.MaxPackSize {
		return errWSTooBig
	}
	fr, err := protocol.DecodeMessage(msg, protocol.MaxPackSize)
	if err != nil {
		s.log.Debug("edge: bad websocket frame", "remote", t.remoteAddr(), "err", err)
		return &wsError{"bad_frame"}
	}
	return sess.handle(fr)
}

// wsnEnd closes the session for reason. A device that sent a close frame
// gets it echoed (RFC 6455 section 5.5.1) before the close.
func (s *Server) wsnEnd(t *wsnConn, sess *session, reason string) {
	t.rd.reset()
	if reason == "peer_close" {
		sess.wmu.Lock()
		if !sess.wdone && !t.closeSent.Swap(true) {
			_ = t.writeControl(ws.OpClose, wsCloseBody(wsCloseNormal, ""))
		}
		sess.wmu.Unlock()
		reason = "peer"
	}
	sess.close(reason)
}

// wsnReason is the session close reason for an error that ended the
// frame loop.
func wsnReason(err error) string {
	var we *wsError
	switch {
	case errors.As(err, &we):
		if we == errWSPeerClose {
			return "peer_close"
		}
		return we.reason
	case errors.Is(err, netpoll.ErrReadTimeout):
		return "read_timeout"
	case errors.Is(err, netpoll.ErrConnClosed), errors.Is(err, netpoll.ErrEOF):
		return "peer"
	default:
		if r := closeReason(err); r != "write_error" {
			return r
		}
		return "read_error"
	}
}
