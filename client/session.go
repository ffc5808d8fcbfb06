package client

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// session is one authenticated connection: a reader goroutine that
// dispatches frames and resolves replies, and a heartbeat goroutine.
type session struct {
	c       *Client
	cn      conn
	addr    string
	started time.Time

	mu      sync.Mutex
	pending map[int32]call
	closed  bool

	stopHB  chan struct{}
	hbDone  chan struct{}
	readErr chan error
	unhook  func() bool
}

// call is a request waiting for its reply.
type call struct {
	replyOp int32
	ch      chan []byte // gets the reply body; closed when the session ends
}

func newSession(c *Client, cn conn, addr string) *session {
	return &session{
		c: c, cn: cn, addr: addr, started: time.Now(),
		pending: make(map[int32]call),
		stopHB:  make(chan struct{}),
		hbDone:  make(chan struct{}),
		readErr: make(chan error, 1),
	}
}

// start runs the reader and the heartbeats.
func (s *session) start() {
	s.unhook = context.AfterFunc(s.c.ctx, func() { _ = s.cn.close() })
	go func() {
		err := s.readLoop()
		_ = s.cn.close() // the heartbeat and writers notice at once
		s.failPending()
		s.readErr <- err
	}()
	go s.heartbeat()
}

// wait blocks until the connection ended, then stops the heartbeats,
// fails the waiting requests and returns why it ended.
func (s *session) wait() error {
	err := <-s.readErr
	s.unhook()
	_ = s.cn.close()
	close(s.stopHB)
	<-s.hbDone
	s.failPending()
	if goingAway(err) {
		return fmt.Errorf("%w: %w", ErrGoingAway, err)
	}
	return err
}

// failPending ends the waiting requests (ErrDisconnected) and refuses new
// ones: the connection is gone.
func (s *session) failPending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for seq, cl := range s.pending {
		close(cl.ch)
		delete(s.pending, seq)
	}
}

func (s *session) heartbeat() {
	defer close(s.hbDone)
	t := time.NewTicker(s.c.o.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.stopHB:
			return
		case <-t.C:
			f := protocol.AppendFrame(make([]byte, 0, protocol.HeaderLen), 1, protocol.OpHeartbeat, s.c.nextSeq(), nil)
			if err := s.cn.write(f, time.Now().Add(s.c.o.WriteTimeout)); err != nil {
				_ = s.cn.close() // the reader notices and ends the session
				return
			}
		}
	}
}

func (s *session) readLoop() error {
	for {
		f, err := s.cn.read(time.Now().Add(s.c.o.ReadTimeout))
		if err != nil {
			return fmt.Errorf("client: %s: read: %w", s.addr, err)
		}
		if err := s.handle(f, false); err != nil {
			return err
		}
	}
}

// errStopping ends the reader when the client closes while it waits for
// the dispatcher.
var errStopping = errors.New("client: stopping")

// handle dispatches one frame; batches are split into their frames. A
// TCP edge (goim-edge, goim) writes a batch's frames without the op-9
// header, which arrive here as plain frames; an op-9 frame on TCP (a
// server that wraps them) is split like a WebSocket batch.
func (s *session) handle(f protocol.Frame, batched bool) error {
	switch f.Op {
	case protocol.OpRaw:
		if batched {
			return fmt.Errorf("client: %s: op-9 batch nested in a batch", s.addr)
		}
		if err := protocol.SplitRaw(f.Body, func(in protocol.Frame) error { return s.handle(in, true) }); err != nil {
			return fmt.Errorf("client: %s: batch: %w", s.addr, err)
		}
		return nil
	case protocol.OpHeartbeatReply:
		if len(f.Body) >= 4 {
			s.c.online.Store(int32(binary.BigEndian.Uint32(f.Body)))
		}
		s.resolve(f)
		return nil
	case protocol.OpPositioned:
		p, err := protocol.ParsePositioned(f.Body)
		if err != nil {
			return fmt.Errorf("client: %s: %w", s.addr, err)
		}
		if !s.c.rec.received(p) {
			return nil // delivered already
		}
		m := &Message{Op: p.Op, Body: append([]byte(nil), p.Body...), Ver: f.Ver, Seq: f.Seq, Batched: batched, Addr: s.addr,
			Stream: p.Stream, Epoch: p.Epoch, Offset: p.Offset}
		return s.deliver(item{msg: m})
	case protocol.OpResumeReply:
		var r protocol.ResumeReply
		if err := json.Unmarshal(f.Body, &r); err != nil {
			return fmt.Errorf("client: %s: resume reply: %w", s.addr, err)
		}
		s.c.rec.verdicts(r.Streams, true)
		return s.deliver(item{ev: &Event{State: Resumed, Time: time.Now(), Addr: s.addr, Verdicts: r.Streams}})
	}
	if f.Seq != 0 && s.resolve(f) {
		return nil
	}
	if isReplyOp(f.Op) {
		return nil // a reply whose request gave up
	}
	m := &Message{Op: f.Op, Body: append([]byte(nil), f.Body...), Ver: f.Ver, Seq: f.Seq, Batched: batched, Addr: s.addr}
	return s.deliver(item{msg: m})
}

// deliver queues it for the dispatcher.
func (s *session) deliver(it item) error {
	select {
	case s.c.items <- it:
		return nil
	case <-s.c.ctx.Done():
		return errStopping
	}
}

// isReplyOp: the ops a server only sends in answer to a request.
func isReplyOp(op int32) bool {
	switch op {
	case protocol.OpAuthReply, protocol.OpSendMsg, protocol.OpSendMsgReply, protocol.OpChangeRoomReply,
		protocol.OpSubReply, protocol.OpUnsubReply, protocol.OpJoinRoomReply, protocol.OpLeaveRoomReply,
		protocol.OpHeartbeatReply, protocol.OpResumeReply, protocol.OpAckReply:
		return true
	}
	return false
}

// resolve hands a reply to its waiting request, if any.
func (s *session) resolve(f protocol.Frame) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.pending[f.Seq]
	if !ok || cl.replyOp != f.Op {
		return false
	}
	delete(s.pending, f.Seq)
	cl.ch <- append([]byte(nil), f.Body...)
	return true
}

// request sends {op, body} and waits for the reply with replyOp and the
// same seq.
func (s *session) request(ctx context.Context, op, replyOp int32, body []byte) ([]byte, error) {
	if len(body) > protocol.MaxBodySize {
		return nil, fmt.Errorf("client: op %d: body %d bytes, the server takes at most %d", op, len(body), protocol.MaxBodySize)
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.o.RequestTimeout)
	defer cancel()
	seq := s.c.nextSeq()
	ch := make(chan []byte, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrDisconnected
	}
	s.pending[seq] = call{replyOp: replyOp, ch: ch}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if cl, ok := s.pending[seq]; ok && cl.ch == ch {
			delete(s.pending, seq)
		}
		s.mu.Unlock()
	}()
	deadline := time.Now().Add(s.c.o.WriteTimeout)
	if err := s.cn.write(protocol.AppendFrame(nil, 1, op, seq, body), deadline); err != nil {
		_ = s.cn.close()
		return nil, fmt.Errorf("%w: op %d: write: %w", ErrDisconnected, op, err)
	}
	select {
	case b, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%w: op %d", ErrDisconnected, op)
		}
		return b, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("client: op %d: no reply: %w", op, ctx.Err())
	}
}
