package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/protocol/consts"
	"github.com/hertz-contrib/websocket"

	"github.com/goim-edge/goim-edge/protocol"
)

// wsConn is the WebSocket transport: one goim frame per binary message.
type wsConn struct {
	c            *websocket.Conn
	raw          net.Conn // the accepted connection under Hertz's hijack wrapper
	writeTimeout time.Duration
	addr         string
}

func (t *wsConn) kind() string { return "ws" }

// close closes the connection under Hertz's hijack wrapper. The wrapper's
// own Close does nothing while the hijack handler runs (Hertz closes the
// connection when it returns) and, with KeepHijackedConns, recycles the
// wrapper under the reader's feet; closing the accepted connection makes
// the blocked reader return, and then Hertz cleans up as usual.
func (t *wsConn) close() error {
	if t.raw != nil {
		return t.raw.Close()
	}
	return t.c.Close()
}

type rawConnCtxKey struct{}

func (t *wsConn) remoteAddr() string { return t.addr }

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
			err = t.c.WriteMessage(websocket.BinaryMessage, m)
		}
		if err != nil {
			return fmt.Errorf("edge: websocket write: %w", err)
		}
	}
	return nil
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

func (s *Server) startWS() error {
	ln, err := net.Listen("tcp", s.cfg.WSAddr)
	if err != nil {
		return fmt.Errorf("edge: listen websocket %s: %w", s.cfg.WSAddr, err)
	}
	s.addrs.WS = ln.Addr().String()
	h := server.New(
		server.WithListener(ln),
		server.WithDisablePrintRoute(true),
		server.WithReadTimeout(s.cfg.HandshakeTimeout),
		server.WithIdleTimeout(s.cfg.HandshakeTimeout),
		server.WithExitWaitTime(time.Second),
		server.WithMaxRequestBodySize(4096),
		server.WithOnAccept(func(c net.Conn) context.Context {
			return context.WithValue(context.Background(), rawConnCtxKey{}, c)
		}),
	)
	up := &websocket.HertzUpgrader{
		HandshakeTimeout: s.cfg.HandshakeTimeout,
		ReadBufferSize:   s.cfg.WSReadBuffer,
		WriteBufferSize:  s.cfg.WSWriteBuffer,
		WriteBufferPool:  &wsWriteBuffers{},
		// goim's demo page is served from anywhere; devices authenticate
		// with their token, not their origin.
		CheckOrigin: func(*app.RequestContext) bool { return true },
	}
	h.GET(s.cfg.WSPath, func(ctx context.Context, rc *app.RequestContext) {
		if s.draining.Load() {
			rc.AbortWithStatus(consts.StatusServiceUnavailable)
			return
		}
		ip, addr := rc.ClientIP(), rc.RemoteAddr().String()
		if a, ok := rc.RemoteAddr().(*net.TCPAddr); ok {
			ip = a.IP.String()
		}
		raw, _ := ctx.Value(rawConnCtxKey{}).(net.Conn)
		if err := up.Upgrade(rc, func(c *websocket.Conn) { s.serveWS(c, raw, ip, addr) }); err != nil {
			slog.Debug("edge: websocket upgrade", "remote", addr, "err", err)
		}
	})
	s.hz = h
	go func() {
		if err := h.Run(); err != nil {
			slog.Error("edge: websocket serve", "addr", s.addrs.WS, "err", err)
		}
	}()
	return nil
}

// serveWS is the connection's single reader: it decodes one goim frame
// per message (DecodeMessage refuses a frame whose length disagrees with
// the message) and hands it to the session. Writes happen elsewhere,
// under the session's write lock.
func (s *Server) serveWS(c *websocket.Conn, raw net.Conn, ip, addr string) {
	c.SetReadLimit(protocol.MaxPackSize)
	sess := newSession(s, &wsConn{c: c, raw: raw, writeTimeout: s.cfg.WriteTimeout, addr: addr}, ip)
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
				reason = "bad_frame"
			}
			return
		}
		if typ != websocket.BinaryMessage && typ != websocket.TextMessage {
			continue
		}
		bp := wsReadBuffers.Get().(*[]byte)
		n, err := readMessage(r, *bp)
		if err != nil {
			wsReadBuffers.Put(bp)
			if errors.Is(err, websocket.ErrReadLimit) {
				reason = "bad_frame"
			}
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
			slog.Debug("edge: close websocket", "remote", addr, "err", err)
			return
		}
	}
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

// pingLoop pings every WebSocket client each WSPingInterval from one
// goroutine, through each session's queue (the write lock's owner sends it).
func (s *Server) pingLoop() {
	t := time.NewTicker(s.cfg.WSPingInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			for _, sess := range s.sessionsSnapshot() {
				if sess.t.kind() == "ws" {
					sess.push(nil, 0, false)
				}
			}
		}
	}
}
