package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goim-edge/goim-edge/protocol"
)

type wsConn struct {
	c     *websocket.Conn
	mu    sync.Mutex // gorilla allows one writer at a time
	seq   atomic.Int32
	buf   bytes.Buffer
	reads int64 // messages read; reader goroutine only
}

func connectWS(ctx context.Context, o Options, resume, token []byte) (*wsConn, error) {
	d := websocket.Dialer{
		NetDialContext:   dialer(o).DialContext,
		HandshakeTimeout: o.Timeout,
		ReadBufferSize:   2048,
		WriteBufferSize:  512,
		// Offered as browsers offer it; the server decides.
		EnableCompression: o.Compress,
	}
	c, resp, err := d.DialContext(ctx, o.Addr, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("device: websocket dial %s: %w", o.Addr, err)
	}
	c.SetReadLimit(maxServerFrame)
	w := &wsConn{c: c}
	w.seq.Store(authSeq)
	if err := w.auth(ctx, resume, token); err != nil {
		c.Close()
		return nil, err
	}
	return w, nil
}

// auth sends the token, after the op-26 frame when resume is set (its own
// message: one frame per WebSocket message), and awaits the reply.
func (w *wsConn) auth(ctx context.Context, resume, token []byte) error {
	deadline, _ := ctx.Deadline()
	_ = w.c.SetReadDeadline(deadline)
	_ = w.c.SetWriteDeadline(deadline)
	if resume != nil {
		if err := w.c.WriteMessage(websocket.BinaryMessage, resume); err != nil {
			return fmt.Errorf("device: send resume: %w", err)
		}
	}
	if err := w.c.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, 1, protocol.OpAuth, authSeq, token)); err != nil {
		return fmt.Errorf("device: send auth: %w", err)
	}
	for {
		f, err := w.next()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) || errors.Is(err, net.ErrClosed) || websocket.IsUnexpectedCloseError(err) {
				return ErrAuthRefused
			}
			return fmt.Errorf("device: await auth reply: %w", err)
		}
		if f.Op == protocol.OpAuthReply {
			if f.Seq != authSeq {
				return fmt.Errorf("device: auth reply seq %d, want %d", f.Seq, authSeq)
			}
			_ = w.c.SetReadDeadline(time.Time{})
			_ = w.c.SetWriteDeadline(time.Time{})
			return nil
		}
	}
}

// next reads one message and decodes its single frame (goim sends one
// frame per WebSocket message; OpRaw batches are one frame with a body of
// frames). Text messages are refused: goim frames are binary.
func (w *wsConn) next() (protocol.Frame, error) {
	mt, r, err := w.c.NextReader()
	if err != nil {
		return protocol.Frame{}, err
	}
	w.reads++
	if mt != websocket.BinaryMessage {
		return protocol.Frame{}, fmt.Errorf("device: websocket message type %d, want binary", mt)
	}
	w.buf.Reset()
	if _, err := w.buf.ReadFrom(r); err != nil {
		return protocol.Frame{}, fmt.Errorf("device: websocket read: %w", err)
	}
	f, err := protocol.DecodeMessage(w.buf.Bytes(), maxServerFrame)
	if err != nil {
		return protocol.Frame{}, fmt.Errorf("device: websocket frame: %w", err)
	}
	return f, nil
}

func (w *wsConn) Heartbeat() error {
	seq := w.seq.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := w.c.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(make([]byte, 0, protocol.HeaderLen), 1, protocol.OpHeartbeat, seq, nil)); err != nil {
		return fmt.Errorf("device: heartbeat: %w", err)
	}
	return nil
}

func (w *wsConn) Serve(h Handler) error {
	rec, _ := h.(Recovery)
	for {
		f, err := w.next()
		if err != nil {
			return fmt.Errorf("device: read: %w", err)
		}
		if err := dispatch(f, h, rec); err != nil {
			return err
		}
	}
}

// Start runs Serve on a goroutine of its own and hands its error to done.
func (w *wsConn) Start(h Handler, done func(error)) {
	go func() { done(w.Serve(h)) }()
}

func (w *wsConn) Close() error { return w.c.Close() }

func (w *wsConn) Reads() int64 { return w.reads }
