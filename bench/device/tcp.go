package device

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// readBufferSize is each TCP device's bufio size: a few pushes per read
// without 10,000 devices costing the bench much memory.
const readBufferSize = 4096

// writeTimeout bounds a heartbeat write, so a server that stops reading
// cannot hang the heartbeat loop.
const writeTimeout = 5 * time.Second

type tcpConn struct {
	c     net.Conn
	r     *bufio.Reader
	seq   atomic.Int32
	reads countingReader
}

// countingReader counts the socket reads under the bufio.Reader; only the
// reader goroutine touches it.
type countingReader struct {
	c net.Conn
	n int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	r.n++
	return r.c.Read(p)
}

func connectTCP(ctx context.Context, o Options, resume, token []byte) (*tcpConn, error) {
	c, err := dialer(o).DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("device: dial %s: %w", o.Addr, err)
	}
	t := &tcpConn{c: c, reads: countingReader{c: c}}
	t.r = bufio.NewReaderSize(&t.reads, readBufferSize)
	t.seq.Store(authSeq)
	if err := t.auth(ctx, resume, token); err != nil {
		c.Close()
		return nil, err
	}
	return t, nil
}

// auth sends the token, after the op-26 frame when resume is set (one
// write: op 26 must arrive right before op 7), and awaits the reply.
func (t *tcpConn) auth(ctx context.Context, resume, token []byte) error {
	deadline, _ := ctx.Deadline()
	_ = t.c.SetDeadline(deadline)
	defer t.c.SetDeadline(time.Time{})
	if _, err := t.c.Write(protocol.AppendFrame(resume, 1, protocol.OpAuth, authSeq, token)); err != nil {
		return fmt.Errorf("device: send auth: %w", err)
	}
	var buf []byte
	for {
		f, nb, err := protocol.ReadFrame(t.r, buf, maxServerFrame)
		buf = nb
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
				return ErrAuthRefused
			}
			return fmt.Errorf("device: await auth reply: %w", err)
		}
		if f.Op == protocol.OpAuthReply {
			if f.Seq != authSeq {
				return fmt.Errorf("device: auth reply seq %d, want %d", f.Seq, authSeq)
			}
			return nil
		}
		// Anything else before the reply is unexpected but harmless.
	}
}

func (t *tcpConn) Heartbeat() error {
	seq := t.seq.Add(1)
	_ = t.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := t.c.Write(protocol.AppendFrame(make([]byte, 0, protocol.HeaderLen), 1, protocol.OpHeartbeat, seq, nil)); err != nil {
		return fmt.Errorf("device: heartbeat: %w", err)
	}
	return nil
}

func (t *tcpConn) Serve(h Handler) error {
	rec, _ := h.(Recovery)
	buf := make([]byte, 0, 512)
	for {
		f, nb, err := protocol.ReadFrame(t.r, buf, maxServerFrame)
		buf = nb
		if err != nil {
			return fmt.Errorf("device: read: %w", err)
		}
		if err := dispatch(f, h, rec); err != nil {
			return err
		}
	}
}

// Start runs Serve on a goroutine of its own and hands its error to done.
func (t *tcpConn) Start(h Handler, done func(error)) {
	go func() { done(t.Serve(h)) }()
}

func (t *tcpConn) Close() error { return t.c.Close() }

func (t *tcpConn) Reads() int64 { return t.reads.n }
