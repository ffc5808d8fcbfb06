package client

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// RecoveryOptions turn on the recovery extension (docs/recovery.md): the
// client sends its stream positions (op 26) right before the auth frame
// on every connection, receives what it missed and then live pushes with
// their positions (op 28), drops duplicates, and acknowledges what it
// processed of its user stream (op 29).
//
// It needs a goim-edge server that implements the extension: goim (and a
// goim-edge without it) closes a connection whose first frame is not the
// auth frame, which the client takes for a refused token.
type RecoveryOptions struct {
	// Positions are where to resume from, typically what Client.Positions
	// returned before the process last stopped. Positions learned from
	// pushes replace them as messages arrive.
	Positions []protocol.StreamPos
	// Streams are further streams to recover while no position is held
	// for them: the server sends everything it keeps (for the user
	// stream: from the user's acknowledged position), e.g.
	// protocol.RoomStream("live://1000").
	Streams []string
	// Mid is the device's user id. With AutoAck and no position held for
	// the user stream, the client asks for protocol.UserStream(Mid) with
	// no position, so the user's unacknowledged messages reach it. 0: the
	// user stream is learned from the first push to it.
	Mid int64
	// AutoAck acknowledges the user stream (op 29) with the highest
	// offset whose OnMessage call has returned: after every AckEvery such
	// messages, and AckInterval after the first one not yet acknowledged.
	AutoAck bool
	// AckInterval is the longest an ack waits (default 1 s).
	AckInterval time.Duration
	// AckEvery acks at once after this many messages (default 100).
	AckEvery int
}

// Recovery defaults.
const (
	DefaultAckInterval = time.Second
	DefaultAckEvery    = 100
)

// Stats are counters of a client's positioned pushes.
type Stats struct {
	// Positioned is how many positioned pushes (op 28) were delivered.
	Positioned uint64
	// Duplicates is how many were dropped because a message at that
	// position or later had been delivered already (same epoch).
	Duplicates uint64
	// Acks is how many acks (op 29) the server answered, automatic and
	// manual.
	Acks uint64
}

// pos is a place in one stream.
type pos struct {
	epoch  string
	offset int64
}

// recovery holds the client's positions: recv is what the reader has
// handed to the dispatcher (dedup, and what the next connection resumes
// from: the queued messages are still delivered), done what the callbacks
// have returned from (Positions, acks).
type recovery struct {
	mu   sync.Mutex
	recv map[string]pos
	done map[string]pos
	user string // the device's user stream, once known

	positioned, duplicates, acks atomic.Uint64

	// Auto ack: the highest processed user position not yet acked.
	ackMu    sync.Mutex
	ackPos   pos
	ackCount int
	ackKick  chan struct{} // AckEvery reached
	ackArm   chan struct{} // a first unacked message: start the interval
}

func newRecovery(o *RecoveryOptions) *recovery {
	r := &recovery{
		recv:    make(map[string]pos),
		done:    make(map[string]pos),
		ackKick: make(chan struct{}, 1),
		ackArm:  make(chan struct{}, 1),
	}
	if o == nil {
		return r
	}
	for _, p := range o.Positions {
		if p.Stream == "" || (p.Epoch == "" && p.Offset == 0) {
			continue
		}
		r.recv[p.Stream] = pos{p.Epoch, p.Offset}
		r.done[p.Stream] = pos{p.Epoch, p.Offset}
		if strings.HasPrefix(p.Stream, protocol.UserStreamPrefix) {
			r.user = p.Stream // a device follows one user stream
		}
	}
	if o.Mid != 0 {
		r.user = protocol.UserStream(o.Mid)
	}
	return r
}

func (o *RecoveryOptions) withDefaults() {
	if o.AckInterval <= 0 {
		o.AckInterval = DefaultAckInterval
	}
	if o.AckEvery <= 0 {
		o.AckEvery = DefaultAckEvery
	}
}

// advance moves m[stream] to p: forward in the same epoch, or to another
// epoch.
func advance(m map[string]pos, stream string, p pos) {
	if cur, ok := m[stream]; ok && cur.epoch == p.epoch && cur.offset >= p.offset {
		return
	}
	m[stream] = p
}

// received records a positioned push read from the connection and
// reports whether it is new (false: a duplicate to drop).
func (r *recovery) received(p protocol.Positioned) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.recv[p.Stream]; ok && cur.epoch == p.Epoch && p.Offset <= cur.offset {
		r.duplicates.Add(1)
		return false
	}
	r.recv[p.Stream] = pos{p.Epoch, p.Offset}
	if r.user == "" && strings.HasPrefix(p.Stream, protocol.UserStreamPrefix) {
		r.user = p.Stream
	}
	r.positioned.Add(1)
	return true
}

// processed records a positioned message whose callback returned, and
// reports whether it belongs to the user stream.
func (r *recovery) processed(m *Message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	advance(r.done, m.Stream, pos{m.Epoch, m.Offset})
	return m.Stream == r.user
}

// verdicts applies the positions of a resume reply to set (recv or done).
func (r *recovery) verdicts(vs []protocol.StreamVerdict, reader bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.done
	if reader {
		m = r.recv
	}
	for _, v := range vs {
		if v.Epoch != "" {
			advance(m, v.Stream, pos{v.Epoch, v.Offset})
		}
	}
}

// forget drops the positions of the streams for which drop is true (rooms
// left).
func (r *recovery) forget(drop func(stream string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range []map[string]pos{r.recv, r.done} {
		for s := range m {
			if drop(s) {
				delete(m, s)
			}
		}
	}
}

// positions lists the processed positions, by stream name.
func (r *recovery) positions() []protocol.StreamPos {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]protocol.StreamPos, 0, len(r.done))
	for s, p := range r.done {
		out = append(out, protocol.StreamPos{Stream: s, Epoch: p.epoch, Offset: p.offset})
	}
	slices.SortFunc(out, func(a, b protocol.StreamPos) int { return strings.Compare(a.Stream, b.Stream) })
	return out
}

// request builds an op-26 body: the user stream first, then every other
// stream by name, with the positions the reader holds; streams without
// one from o.Streams (and the user stream when acks are on). skip leaves
// streams out (rooms that are only joined after auth). The list may be
// empty: op 26 still makes the connection positioned, so live pushes
// carry positions from then on. Streams that do not fit the frame are
// left out.
func (r *recovery) request(o *RecoveryOptions, skip func(stream string) bool) []byte {
	r.mu.Lock()
	var list []protocol.StreamPos
	seen := make(map[string]bool)
	add := func(s string) {
		if s == "" || seen[s] || (skip != nil && skip(s)) {
			return
		}
		seen[s] = true
		p := r.recv[s]
		list = append(list, protocol.StreamPos{Stream: s, Epoch: p.epoch, Offset: p.offset})
	}
	if r.user != "" {
		if _, ok := r.recv[r.user]; ok || o.AutoAck {
			add(r.user)
		}
	}
	var rest []string
	for s := range r.recv {
		rest = append(rest, s)
	}
	rest = append(rest, o.Streams...)
	slices.Sort(rest)
	for _, s := range rest {
		add(s)
	}
	r.mu.Unlock()
	return resumeBody(list)
}

// resumeBody encodes the streams of list that fit one frame.
func resumeBody(list []protocol.StreamPos) []byte {
	body := []byte(`{"streams":[`)
	for i, p := range list {
		b, _ := json.Marshal(p) // strings and an int: cannot fail
		if len(body)+len(b)+3 > protocol.MaxBodySize {
			break
		}
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, b...)
	}
	return append(body, "]}"...)
}

// Positions returns the position of every stream the client holds one
// for, after the messages whose OnMessage call has returned (and the
// verdicts OnState has seen). Persist them and pass them back as
// RecoveryOptions.Positions to resume after a restart of the process.
func (c *Client) Positions() []protocol.StreamPos { return c.rec.positions() }

// Stats returns the client's counters of positioned pushes and acks.
func (c *Client) Stats() Stats {
	return Stats{Positioned: c.rec.positioned.Load(), Duplicates: c.rec.duplicates.Load(), Acks: c.rec.acks.Load()}
}

// Ack acknowledges the device's user stream up to offset in epoch (op
// 29) and waits for the server's reply (op 30). The server keeps the
// highest offset acked in the stream's current epoch; a device that
// resumes the user stream without a position starts from there. With
// RecoveryOptions.AutoAck the client acks by itself.
func (c *Client) Ack(ctx context.Context, epoch string, offset int64) error {
	body, _ := json.Marshal(protocol.Ack{Epoch: epoch, Offset: offset})
	if _, err := c.request(ctx, protocol.OpAck, protocol.OpAckReply, body); err != nil {
		return err
	}
	c.rec.acks.Add(1)
	return nil
}

// Resume sends op 26 now for the streams the client holds positions for
// (and RecoveryOptions.Streams), e.g. to retry streams whose verdict was
// unavailable. The verdicts arrive as a Resumed event, after the
// recovered messages. It needs RecoveryOptions.
func (c *Client) Resume(ctx context.Context) error {
	if c.o.Recovery == nil {
		return fmt.Errorf("client: resume: no Options.Recovery")
	}
	s := c.session()
	if s == nil {
		return ErrNotConnected
	}
	return s.resume(ctx, c.rec.request(c.o.Recovery, nil))
}

// resume writes an op-26 frame without waiting: its reply (op 27) comes
// after the recovered messages and is handled by the reader.
func (s *session) resume(ctx context.Context, body []byte) error {
	deadline := time.Now().Add(s.c.o.WriteTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := s.cn.write(protocol.AppendFrame(nil, 1, protocol.OpResume, s.c.nextSeq(), body), deadline); err != nil {
		_ = s.cn.close()
		return fmt.Errorf("%w: op %d: write: %w", ErrDisconnected, protocol.OpResume, err)
	}
	return nil
}

// joined resumes room's stream after the connection joined it (op 12 or
// 22), when a position is held for it or it is one of Streams: before
// the join the server refuses it (not_followed).
func (c *Client) joined(s *session, room string) {
	if c.o.Recovery == nil || room == "" {
		return
	}
	stream := protocol.RoomStream(room)
	c.rec.mu.Lock()
	p, ok := c.rec.recv[stream]
	c.rec.mu.Unlock()
	if !ok && !slices.Contains(c.o.Recovery.Streams, stream) {
		return
	}
	_ = s.resume(context.Background(), resumeBody([]protocol.StreamPos{{Stream: stream, Epoch: p.epoch, Offset: p.offset}}))
}

// noteAck counts a processed user-stream message for the auto ack.
func (r *recovery) noteAck(m *Message, every int) {
	r.ackMu.Lock()
	r.ackPos = pos{m.Epoch, m.Offset}
	r.ackCount++
	n := r.ackCount
	r.ackMu.Unlock()
	if n == 1 {
		select {
		case r.ackArm <- struct{}{}:
		default:
		}
	}
	if n >= every {
		select {
		case r.ackKick <- struct{}{}:
		default:
		}
	}
}

// acker sends the auto acks until the client closes.
func (c *Client) acker(done chan<- struct{}) {
	defer close(done)
	o := c.o.Recovery
	var t *time.Timer
	var tc <-chan time.Time
	arm := func() {
		if tc == nil {
			t = time.NewTimer(o.AckInterval)
			tc = t.C
		}
	}
	for {
		select {
		case <-c.ctx.Done():
			if t != nil {
				t.Stop()
			}
			return
		case <-c.rec.ackArm:
			arm()
			continue
		case <-tc:
			tc = nil
		case <-c.rec.ackKick:
		}
		if !c.flushAck() {
			arm() // not connected or no reply: try again later
		}
	}
}

// flushAck acks the highest processed user position, if any is pending.
// It reports false when the ack failed and is still pending.
func (c *Client) flushAck() bool {
	r := c.rec
	r.ackMu.Lock()
	p, n := r.ackPos, r.ackCount
	r.ackCount = 0
	r.ackMu.Unlock()
	if n == 0 {
		return true
	}
	if err := c.Ack(c.ctx, p.epoch, p.offset); err != nil {
		r.ackMu.Lock()
		if r.ackCount == 0 {
			r.ackPos = p
		}
		r.ackCount += n
		r.ackMu.Unlock()
		return c.ctx.Err() != nil
	}
	return true
}
