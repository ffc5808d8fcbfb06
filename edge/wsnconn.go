package edge

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"
)

// wsnConn is the netpoll WebSocket transport: goim frames as binary
// messages on a netpoll connection whose frames the event loop reads, as
// tcpConn's are. Like tcpConn it is also the connection's netpoll
// context. An idle upgraded connection holds this struct, its reader
// state (nil unless a fragmented message is open) and netpoll's own
// buffers, and no goroutine.
type wsnConn struct {
	context.Context
	c   netpoll.Connection
	srv *Server
	// sess is set once the upgrade is done (handler goroutine) and read
	// by the poller's OnDisconnect and the handshake timer.
	sess atomic.Pointer[session]
	// handshake closes a connection that has not upgraded within
	// HandshakeTimeout; stopped and dropped (by the handler) once it has.
	handshake *time.Timer
	rd        wsReader
	// compressMin: with permessage-deflate negotiated, server messages
	// this long are compressed; 0 never.
	compressMin int32
	peerGone    atomic.Bool // a write found the peer gone; see peergone.go
	closeSent   atomic.Bool // a close frame went out; one is all RFC 6455 allows
	// closing: the session has ended; input is dropped until the socket
	// closes (after wsCloseGrace, or when the device answers).
	closing atomic.Bool
}

// wsCloseGrace is how long a connection that was sent a close frame
// stays open for the device to read it and answer. Closing at once would
// reset the connection when the device's frames are still in flight,
// and a reset can discard the close frame before the device reads it.
const wsCloseGrace = time.Second

func wsnConnOf(ctx context.Context) *wsnConn {
	t, _ := ctx.(*wsnConn)
	return t
}

func (t *wsnConn) kind() string { return "ws" }

func (t *wsnConn) remoteAddr() string { return t.c.RemoteAddr().String() }

// inputLen is how many received bytes netpoll holds for the reader.
func (t *wsnConn) inputLen() int { return t.c.Reader().Len() }

// close ends the connection. After a close frame the socket's sending
// side is shut (the device reads the frame, then end of stream) and the
// socket closes after wsCloseGrace, or sooner when the device answers.
func (t *wsnConn) close() error {
	t.closing.Store(true)
	switch {
	case t.peerGone.Load():
		closeAfterGrace(t.c)
	case t.closeSent.Load():
		if fc, ok := t.c.(interface{ Fd() int }); ok {
			_ = syscall.Shutdown(fc.Fd(), syscall.SHUT_WR)
		}
		c := t.c
		time.AfterFunc(wsCloseGrace, func() { _ = c.Close() })
	default:
		return t.c.Close()
	}
	return nil
}

// appendWSHeader appends a server frame header (never masked) for a
// final frame of op with n payload bytes.
func appendWSHeader(b []byte, op ws.OpCode, rsv1 bool, n int) []byte {
	b0 := 0x80 | byte(op)
	if rsv1 {
		b0 |= 0x40
	}
	switch {
	case n <= 125:
		return append(b, b0, byte(n))
	case n <= 0xffff:
		return append(b, b0, 126, byte(n>>8), byte(n))
	default:
		return append(b, b0, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// write sends each frame as one binary message (an OpRaw batch whole:
// outer header and inner frames, as goim's JavaScript client reads it);
// a nil entry is a ping. Callers hold session.wmu.
//
// Like tcpConn.write it links payloads into netpoll's output buffer
// without copying, so an idle connection's output buffer holds nothing;
// the headers share one small pooled slice per call. A compressed message is
// compressed once for every connection it goes to (wsDeflated).
func (t *wsnConn) write(msgs [][]byte) error {
	w := t.c.Writer()
	hp := wsHeaderBuffers.Get().(*[]byte)
	hdrs := (*hp)[:0]
	if cap(hdrs) < 10*len(msgs) {
		hdrs = make([]byte, 0, 10*len(msgs))
	}
	for _, m := range msgs {
		op, rsv1 := ws.OpBinary, false
		if m == nil {
			op = ws.OpPing
		} else if t.compressMin > 0 && len(m) >= int(t.compressMin) {
			m, rsv1 = wsDeflated(m), true
		}
		start := len(hdrs)
		hdrs = appendWSHeader(hdrs, op, rsv1, len(m))
		if err := w.WriteDirect(hdrs[start:], 0); err != nil {
			return fmt.Errorf("edge: websocket write: %w", err)
		}
		if len(m) > 0 {
			if err := w.WriteDirect(m, 0); err != nil {
				return fmt.Errorf("edge: websocket write: %w", err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		if isPeerGone(err) {
			t.peerGone.Store(true)
		}
		return fmt.Errorf("edge: websocket flush: %w", err)
	}
	// Flushed: netpoll no longer points into the headers.
	*hp = hdrs
	wsHeaderBuffers.Put(hp)
	return nil
}

// wsHeaderBuffers lend frame headers to writes (a fan-out writes one
// message to thousands of connections; the headers are its only
// allocation otherwise).
var wsHeaderBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 64)
	return &b
}}

// writeControl sends one control frame (a pong, the drain's close).
// Callers hold session.wmu. The payload is copied: it may point into
// netpoll's input buffer, released before a failed flush lets go of it.
func (t *wsnConn) writeControl(op ws.OpCode, payload []byte) error {
	f := appendWSHeader(make([]byte, 0, 2+len(payload)), op, false, len(payload))
	f = append(f, payload...)
	w := t.c.Writer()
	if err := w.WriteDirect(f, 0); err != nil {
		return err
	}
	return w.Flush()
}

// goAway sends close code 1001 with reason, waiting up to WriteTimeout
// for room in the socket: a drain wants the device to hear it. Callers
// hold session.wmu.
func (t *wsnConn) goAway(reason string) error {
	if t.closeSent.Swap(true) {
		return nil
	}
	return t.writeControl(ws.OpClose, wsCloseBody(wsCloseGoingAway, reason))
}

// sendClose sends a close frame with code and reason without ever
// waiting: it is written straight to the non-blocking socket, which
// takes it whole or not at all when there is room (it is at most 127
// bytes), and is dropped when there is none. Callers hold session.wmu
// (or own the connection before it has a session), so no netpoll write
// is under way and netpoll's output buffer is empty: its flushes finish
// before they return.
func (t *wsnConn) sendClose(code uint16, reason string) {
	if t.peerGone.Load() || t.closeSent.Swap(true) {
		return
	}
	body := wsCloseBody(code, reason)
	f := append(appendWSHeader(make([]byte, 0, 2+len(body)), ws.OpClose, false, len(body)), body...)
	if fc, ok := t.c.(interface{ Fd() int }); ok {
		_, _ = syscall.Write(fc.Fd(), f)
	}
}
