package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goim-edge/goim-edge/protocol"
)

// conn is one transport connection: it reads whole server frames and
// writes encoded client frames. Reads happen on one goroutine; writes
// are serialised by the conn.
type conn interface {
	// read returns the next frame; its body is valid until the next read.
	// An op-9 frame is returned whole; the caller splits it.
	read(deadline time.Time) (protocol.Frame, error)
	write(frame []byte, deadline time.Time) error
	close() error
}

// dialConn dials addr: "ws://" and "wss://" URLs are WebSocket, anything
// else is host:port over TCP.
func dialConn(ctx context.Context, o *Options, addr string) (conn, error) {
	if strings.HasPrefix(addr, "ws://") || strings.HasPrefix(addr, "wss://") {
		return dialWS(ctx, o, addr)
	}
	nc, err := o.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("client: dial tcp %s: %w", addr, err)
	}
	return &tcpConn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10), max: o.MaxFrameSize}, nil
}

type tcpConn struct {
	nc  net.Conn
	br  *bufio.Reader
	buf []byte
	max int
	wmu sync.Mutex
}

func (c *tcpConn) read(deadline time.Time) (protocol.Frame, error) {
	_ = c.nc.SetReadDeadline(deadline)
	f, buf, err := protocol.ReadFrame(c.br, c.buf, c.max)
	c.buf = buf
	return f, err
}

func (c *tcpConn) write(frame []byte, deadline time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(deadline)
	_, err := c.nc.Write(frame)
	return err
}

func (c *tcpConn) close() error { return c.nc.Close() }

type wsConn struct {
	c   *websocket.Conn
	buf bytes.Buffer
	max int
	wmu sync.Mutex // gorilla allows one writer at a time
}

func dialWS(ctx context.Context, o *Options, url string) (*wsConn, error) {
	d := websocket.Dialer{
		NetDialContext:   o.DialContext,
		TLSClientConfig:  o.TLSConfig,
		HandshakeTimeout: o.DialTimeout,
		ReadBufferSize:   4 << 10,
		WriteBufferSize:  4 << 10,
	}
	c, resp, err := d.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("client: websocket dial %s: %s: %w", url, resp.Status, err)
		}
		return nil, fmt.Errorf("client: websocket dial %s: %w", url, err)
	}
	// A WebSocket message may hold a whole batch: the outer header and
	// frames up to the edge's batch size plus one large push.
	c.SetReadLimit(int64(2 * o.MaxFrameSize))
	return &wsConn{c: c, max: 2 * o.MaxFrameSize}, nil
}

func (w *wsConn) read(deadline time.Time) (protocol.Frame, error) {
	_ = w.c.SetReadDeadline(deadline)
	_, r, err := w.c.NextReader()
	if err != nil {
		return protocol.Frame{}, err
	}
	w.buf.Reset()
	if _, err := w.buf.ReadFrom(r); err != nil {
		return protocol.Frame{}, err
	}
	f, err := protocol.DecodeMessage(w.buf.Bytes(), w.max)
	if err != nil {
		return protocol.Frame{}, fmt.Errorf("client: websocket message: %w", err)
	}
	return f, nil
}

func (w *wsConn) write(frame []byte, deadline time.Time) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.c.SetWriteDeadline(deadline)
	return w.c.WriteMessage(websocket.BinaryMessage, frame)
}

func (w *wsConn) close() error { return w.c.Close() }

// closedByPeer reports whether err means the server ended the connection
// in order (EOF, a WebSocket close), which before the auth reply is how
// goim refuses a token. A reset is not: an edge that refuses a connection
// outright (draining, full) closes it with our token unread, which resets
// it.
func closedByPeer(err error) bool {
	if errors.Is(err, syscall.ECONNRESET) {
		return false
	}
	var ce *websocket.CloseError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ce)
}

// goingAway reports a WebSocket close with code 1001 (the edge drains).
func goingAway(err error) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) && ce.Code == websocket.CloseGoingAway
}
