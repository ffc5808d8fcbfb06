package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/common/config"
	"github.com/cloudwego/hertz/pkg/network/standard"
	hzprotocol "github.com/cloudwego/hertz/pkg/protocol"
	"github.com/cloudwego/hertz/pkg/protocol/consts"
	"github.com/hertz-contrib/websocket"

	"github.com/goim-edge/goim-edge/internal/serving"
	"github.com/goim-edge/goim-edge/protocol"
)

// wsConn is the WebSocket transport: one goim frame per binary message.
type wsConn struct {
	c            *websocket.Conn
	raw          net.Conn // the accepted connection under Hertz's hijack wrapper
	writeTimeout time.Duration
	compressMin  int         // with compression negotiated, compress messages this long; 0: never
	peerGone     atomic.Bool // a write found the peer gone; see peergone.go
	closeSent    atomic.Bool // a close frame went out; one is all RFC 6455 allows
}

func (t *wsConn) kind() string { return "ws" }

// close closes the connection under Hertz's hijack wrapper. The wrapper's
// own Close does nothing while the hijack handler runs (Hertz closes the
// connection when it returns) and, with KeepHijackedConns, recycles the
// wrapper under the reader's feet; closing the accepted connection makes
// the blocked reader return, and then Hertz cleans up as usual.
func (t *wsConn) close() error {
	var c io.Closer = t.c
	if t.raw != nil {
		c = t.raw
	}
	if t.peerGone.Load() {
		closeAfterGrace(c)
		return nil
	}
	return c.Close()
}

// inputLen is how many received bytes wait unread under the WebSocket
// reader (netpoll's input buffer; 0 on Go's network stack, which reads
// only what the reader asks for and so leaves the rest to TCP flow
// control).
func (t *wsConn) inputLen() int {
	if l, ok := t.raw.(interface{ Len() int }); ok {
		return l.Len()
	}
	return 0
}

func (t *wsConn) remoteAddr() string {
	if t.raw != nil {
		return t.raw.RemoteAddr().String()
	}
	return t.c.RemoteAddr().String()
}

// write sends each frame as one binary message; an OpRaw batch is one
// message holding the outer op-9 header and the inner frames, which is
// what goim's JavaScript client parses. Callers hold session.wmu: the
// WebSocket writer is not goroutine-safe.
func (t *wsConn) write(msgs [][]byte) error {
	deadline := time.Now().Add(t.writeTimeout)
	_ = t.c.SetWriteDeadline(deadline)
	for _, m := range msgs {
		var err error
		if m == nil {
			err = t.c.WriteControl(websocket.PingMessage, nil, deadline)
		} else {
			if t.compressMin > 0 {
				// Small messages are not worth the CPU.
				t.c.EnableWriteCompression(len(m) >= t.compressMin)
			}
			err = t.c.WriteMessage(websocket.BinaryMessage, m)
		}
		if err != nil {
			if isPeerGone(err) {
				t.peerGone.Store(true)
			}
			return fmt.Errorf("edge: websocket write: %w", err)
		}
	}
	return nil
}

// goAway sends a close frame with code 1001 (going away) and reason, so
// the device reconnects elsewhere. Callers hold session.wmu.
func (t *wsConn) goAway(reason string) error {
	if t.closeSent.Swap(true) {
		return nil
	}
	return t.c.WriteControl(websocket.CloseMessage, wsCloseBody(wsCloseGoingAway, reason), time.Now().Add(t.writeTimeout))
}

// wsCloseWait bounds the write of a close frame on the hertz transport,
// which has no write that gives up at once on a full socket: session.close
// runs on the deadline wheel and the poller, which must not wait long.
const wsCloseWait = 100 * time.Millisecond

// sendClose sends a close frame with code and reason (wsclose.go).
// Callers hold session.wmu.
func (t *wsConn) sendClose(code uint16, reason string) {
	if t.peerGone.Load() || t.closeSent.Swap(true) {
		return
	}
	_ = t.c.WriteControl(websocket.CloseMessage, wsCloseBody(code, reason), time.Now().Add(wsCloseWait))
}

// wsWriteBuffers lends write buffers to connections only while they
// write, so idle WebSocket connections hold none.
type wsWriteBuffers struct{ p sync.Pool }

func (b *wsWriteBuffers) Get() interface{}  { return b.p.Get() }
func (b *wsWriteBuffers) Put(v interface{}) { b.p.Put(v) }

// wsReadBuffers holds message buffers for the reader while it decodes one
// message; a frame never exceeds MaxPackSize (the read limit).
var wsReadBuffers = sync.Pool{New: func() any {
	b := make([]byte, protocol.MaxPackSize)
	return &b
}}

// wsPort is one WebSocket port: goim's plain ws port, or the same
// endpoint over TLS.
type wsPort struct {
	name string // "websocket" or "websocket tls", for logs and errors
	ln   net.Listener
	hz   *server.Hertz     // the hertz transport
	tls  bool              // hz speaks TLS (wss)
	hs   *serving.Hertz    // hz once serving
	np   netpoll.EventLoop // or the netpoll transport (wsnet.go)
}

// listenWS binds addr and builds (without serving) the Hertz server for
// the upgrade path. With certs, the port speaks TLS.
func (s *Server) listenWS(name, addr string, certs *certFiles) (*wsPort, error) {
	if certs == nil && s.cfg.WSTransport == WSTransportNetpoll {
		l, err := s.listenWSNetpoll(addr)
		if err != nil {
			return nil, err
		}
		return &wsPort{name: name, ln: l.ln, np: l.loop}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("edge: listen %s %s: %w", name, addr, err)
	}
	opts := []config.Option{
		server.WithListener(ln),
		server.WithDisablePrintRoute(true),
		server.WithReadTimeout(s.cfg.HandshakeTimeout),
		server.WithIdleTimeout(s.cfg.HandshakeTimeout),
		server.WithExitWaitTime(time.Second),
		server.WithMaxRequestBodySize(4096),
	}
	if certs != nil {
		// netpoll has no TLS: this port runs on Go's standard stack.
		opts = append(opts,
			server.WithTransport(standard.NewTransporter),
			server.WithTLS(&tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}))
	}
	h := server.New(opts...)
	h.GET(s.cfg.WSPath, s.wsUpgrade())
	return &wsPort{name: name, ln: ln, hz: h, tls: certs != nil}, nil
}

// wsUpgrade is the handler of the upgrade path: refuse when draining or
// full, else upgrade and run the connection's reader.
func (s *Server) wsUpgrade() app.HandlerFunc {
	up := &websocket.HertzUpgrader{
		HandshakeTimeout: s.cfg.HandshakeTimeout,
		ReadBufferSize:   s.cfg.WSReadBuffer,
		WriteBufferSize:  s.cfg.WSWriteBuffer,
		WriteBufferPool:  &wsWriteBuffers{},
		// permessage-deflate without context takeover: no compression
		// window kept per connection.
		EnableCompression: s.cfg.WSCompression,
		// goim's demo page is served from anywhere; devices authenticate
		// with their token, not their origin.
		CheckOrigin: func(*app.RequestContext) bool { return true },
	}
	return func(ctx context.Context, rc *app.RequestContext) {
		// Refusals also close the HTTP connection, so a refused device
		// holds nothing here while it backs off.
		if s.draining.Load() {
			refusedTotal.WithLabelValues("ws", "draining").Inc()
			rc.SetConnectionClose()
			rc.AbortWithStatus(consts.StatusServiceUnavailable)
			return
		}
		raw := rc.GetConn()
		addr := raw.RemoteAddr().String()
		// A connection the limits refuse now gets a plain 503 the client
		// understands; the slots are taken once the upgrade is done
		// (serveWS), and one that loses a race for the last slot gets
		// close code 1013 (try again later).
		if s.wouldRefuse("ws", addr) {
			rc.SetConnectionClose()
			rc.AbortWithStatus(consts.StatusServiceUnavailable)
			return
		}
		// Upgrade hands the connection to Hertz's hijack handler, which
		// runs the callback after this handler returns.
		err := up.Upgrade(rc, func(c *websocket.Conn) {
			// Hertz keeps this RequestContext for as long as the
			// connection lives (its Serve frame waits for this handler);
			// the upgrade request and response have been written, so
			// drop their header buffers (about 1.3 KB a connection).
			// Hertz resets the context after the handler returns, which
			// works on zero values.
			rc.Request = hzprotocol.Request{}
			rc.Response = hzprotocol.Response{}
			s.serveWS(c, raw)
		})
		if err != nil {
			s.log.Debug("edge: websocket upgrade", "remote", raw.RemoteAddr(), "err", err)
		}
	}
}

// serve runs the port's server until Shutdown. The Hertz path returns
// once the server answered on its port (serving.StartHertz: a stop any
// earlier is missed by Hertz, or makes it panic).
func (p *wsPort) serve(s *Server) error {
	if p.np != nil {
		(&wsnLoop{ln: p.ln.(netpoll.Listener), loop: p.np}).serve(s)
		return nil
	}
	addr := p.ln.Addr().String()
	hs, err := serving.StartHertz(p.hz, p.ln, p.tls, "edge: "+p.name, func(err error) {
		if !s.closing.Load() {
			s.log.Error("edge: "+p.name+" serve", "addr", addr, "err", err)
		}
	})
	if err != nil {
		return err
	}
	p.hs = hs
	return nil
}

// shutdown stops the port's server.
func (p *wsPort) shutdown(ctx context.Context) error {
	if p.np != nil {
		err := p.np.Shutdown(ctx)
		// Shutdown closes the listener only once Serve has run; a
		// Shutdown right after Start can come first (Hertz closes its
		// own listener either way).
		_ = p.ln.Close()
		return err
	}
	if p.hs != nil {
		return p.hs.Stop(ctx)
	}
	// Never served: nothing runs on the listener.
	return p.ln.Close()
}

// serveWS is the connection's single reader: it decodes one goim frame
// per message (DecodeMessage refuses a frame whose length disagrees with
// the message) and hands it to the session. Writes happen elsewhere,
// under the session's write lock.
//
// A message that has begun must end within ReadTimeout, as a TCP frame
// must: once its header is in, the reader sets a read deadline for the
// rest, and clears it when the message is whole (the heartbeat deadline
// watches idle connections).
func (s *Server) serveWS(c *websocket.Conn, raw net.Conn) {
	c.SetReadLimit(protocol.MaxPackSize)
	t := &wsConn{c: c, raw: raw, writeTimeout: s.cfg.WriteTimeout}
	if s.cfg.WSCompression {
		t.compressMin = max(s.cfg.WSCompressMin, 1)
	}
	sess := newSession(s, t)
	if sess == nil {
		// Lost a race for the last slot after the upgrade: tell the
		// device to come back later rather than leave it guessing.
		_ = c.WriteControl(websocket.CloseMessage, wsCloseBody(wsCloseTryLater, "edge full"), time.Now().Add(t.writeTimeout))
		_ = t.close()
		return
	}
	reason := "peer"
	defer func() {
		sess.close(reason)
		// Hertz recycles the connection when this returns.
		sess.endWrites()
	}()
	for {
		typ, r, err := c.NextReader()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				reason = "too_big"
			}
			return
		}
		if typ != websocket.BinaryMessage && typ != websocket.TextMessage {
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		bp := wsReadBuffers.Get().(*[]byte)
		n, err := readMessage(r, *bp)
		if err != nil {
			wsReadBuffers.Put(bp)
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				reason = "too_big"
			case isTimeout(err):
				reason = "read_timeout"
			}
			return
		}
		_ = c.SetReadDeadline(time.Time{})
		if t.inputLen() > s.cfg.MaxInputBuffer {
			wsReadBuffers.Put(bp)
			inputOverflowTotal.Inc()
			reason = "input_overflow"
			return
		}
		f, err := protocol.DecodeMessage((*bp)[:n], protocol.MaxPackSize)
		if err == nil {
			err = sess.handle(f)
			if err != nil {
				reason = closeReason(err)
			}
		} else {
			reason = "bad_frame"
		}
		wsReadBuffers.Put(bp)
		if err != nil {
			s.log.Debug("edge: close websocket", "remote", sess.t.remoteAddr(), "err", err)
			return
		}
	}
}

// isTimeout reports whether err is a read deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// readMessage reads a whole message into buf, which holds the largest
// message the read limit lets through.
func readMessage(r io.Reader, buf []byte) (int, error) {
	n := 0
	for {
		if n == len(buf) {
			// Full: only the end of the message may follow (the read
			// limit stops longer messages first).
			var one [1]byte
			if m, err := r.Read(one[:]); m > 0 {
				return n, websocket.ErrReadLimit
			} else if err == io.EOF {
				return n, nil
			} else if err != nil {
				return n, err
			}
			continue
		}
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// pingLoop pings every WebSocket client each WSPingInterval.
func (s *Server) pingLoop() {
	t := time.NewTicker(s.cfg.WSPingInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.pingAll()
		}
	}
}

// pingWorkers is how many goroutines write a round of pings. A goroutine
// per connection (a queued push each) would start tens of thousands at
// once every round, and the runtime keeps every goroutine it ever had at
// its peak (about 0.4 KiB each, for the life of the process) and their
// grown stacks until a GC; a few workers keep a round's cost flat, and a
// device whose socket is full holds up one worker for at most
// WriteTimeout.
const pingWorkers = 8

// pingAll writes one ping to every WebSocket client, under each session's
// write lock like any other write; a failed ping closes the connection.
func (s *Server) pingAll() {
	all := s.sessionsSnapshot()
	var next sharedCursor
	var wg sync.WaitGroup
	for range min(pingWorkers, len(all)) {
		wg.Go(func() {
			for {
				i, ok := next.take(len(all))
				if !ok {
					return
				}
				select {
				case <-s.stop:
					return
				default:
				}
				sess := all[i]
				if sess.t.kind() != "ws" {
					continue
				}
				if err := sess.write([][]byte{nil}); err != nil && !errors.Is(err, errClosed) {
					s.log.Debug("edge: websocket ping", "remote", sess.t.remoteAddr(), "err", err)
					sess.close("write_error")
				}
			}
		})
	}
	wg.Wait()
}
