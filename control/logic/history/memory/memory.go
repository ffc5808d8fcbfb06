// Package memory is the history.Store of standalone deployments: streams
// in this process's memory, lost (with a new epoch on the next append)
// when the process restarts. A stream holds at most its Size messages and
// none older than its TTL; a stream without a message for TTL is dropped
// by Sweep, so idle users and rooms cost nothing.
package memory

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/goim-edge/goim-edge/control/logic/history"
)

// Store is a history.Store in memory.
type Store struct {
	now history.Clock

	mu      sync.Mutex
	streams map[string]*stream

	stop chan struct{}
	done chan struct{}
}

type stream struct {
	epoch string
	last  int64
	ttl   time.Duration
	size  int
	at    time.Time // last append
	msgs  []entry   // oldest first, offsets consecutive
	acked int64     // acknowledged offset in epoch; 0: none
}

type entry struct {
	history.Message
	at time.Time
}

func (e entry) bytes() int { return len(e.Body) + len(e.ID) }

// Overhead estimates of goim_history_memory_bytes: a kept message costs
// its entry in the stream's slice besides its id and body; a stream its
// struct, its epoch, its name and its map slot (Go's swiss map: about a
// control byte plus the key and value words, rounded up).
const (
	entryOverhead  = int(unsafe.Sizeof(entry{}))
	streamOverhead = int(unsafe.Sizeof(stream{})) + 16 /* epoch */ + 32 /* map slot */
)

func (e entry) cost() int { return e.bytes() + entryOverhead }

func streamCost(name string) int { return streamOverhead + len(name) }

var _ history.Store = (*Store)(nil)

// SweepEvery is how often New's background sweep drops expired streams.
const SweepEvery = time.Minute

// New returns an empty store that sweeps expired streams every
// SweepEvery until Close. now is its clock (nil: time.Now).
func New(now history.Clock) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{now: now, streams: map[string]*stream{}, stop: make(chan struct{}), done: make(chan struct{})}
	go s.sweepLoop()
	return s
}

func (s *Store) sweepLoop() {
	defer close(s.done)
	t := time.NewTicker(SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Close stops the sweep and drops every stream.
func (s *Store) Close() error {
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		return nil
	default:
	}
	close(s.stop)
	for name, st := range s.streams {
		s.drop(name, st, len(st.msgs))
	}
	s.mu.Unlock()
	<-s.done
	return nil
}

// Sweep drops the streams that had no message for their TTL and the
// messages older than it, and returns how many streams it dropped.
func (s *Store) Sweep() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for name, st := range s.streams {
		if s.expired(name, st, now) {
			n++
			continue
		}
		s.trim(st, now)
	}
	return n
}

// expired drops st if it had no append for its ttl.
func (s *Store) expired(name string, st *stream, now time.Time) bool {
	if now.Sub(st.at) < st.ttl {
		return false
	}
	s.drop(name, st, len(st.msgs))
	return true
}

func (s *Store) drop(name string, st *stream, n int) {
	s.release(st.msgs[:n])
	delete(s.streams, name)
	history.MemoryBytes.Sub(float64(streamCost(name)))
}

func (s *Store) release(msgs []entry) {
	b, c := 0, 0
	for _, e := range msgs {
		b += e.bytes()
		c += e.cost()
	}
	history.KeptMessages.Sub(float64(len(msgs)))
	history.KeptBytes.Sub(float64(b))
	history.MemoryBytes.Sub(float64(c))
}

// trim drops messages over the size and older than the ttl.
func (s *Store) trim(st *stream, now time.Time) {
	n := max(0, len(st.msgs)-st.size)
	for n < len(st.msgs) && now.Sub(st.msgs[n].at) >= st.ttl {
		n++
	}
	if n == 0 {
		return
	}
	s.release(st.msgs[:n])
	clear(st.msgs[:n]) // let the bodies go
	st.msgs = st.msgs[n:]
}

// Append implements history.Store.
func (s *Store) Append(ctx context.Context, targets []history.Target, m history.Message) ([]history.Pos, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, t := range targets {
		if err := check(t); err != nil {
			return nil, err
		}
	}
	now := s.now()
	out := make([]history.Pos, len(targets))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range targets {
		st := s.streams[t.Stream]
		if st != nil && s.expired(t.Stream, st, now) {
			st = nil
		}
		if st == nil {
			st = &stream{epoch: history.NewEpoch()}
			s.streams[t.Stream] = st
			history.MemoryBytes.Add(float64(streamCost(t.Stream)))
		}
		st.ttl, st.size, st.at = t.Limits.TTL, t.Limits.Size, now
		st.last++
		e := entry{Message: m, at: now}
		e.Offset = st.last
		st.msgs = append(st.msgs, e)
		history.KeptMessages.Inc()
		history.KeptBytes.Add(float64(e.bytes()))
		history.MemoryBytes.Add(float64(e.cost()))
		s.trim(st, now)
		out[i] = history.Pos{Stream: t.Stream, Epoch: st.epoch, Offset: st.last}
	}
	return out, nil
}

func check(t history.Target) error {
	if _, err := history.ParseStream(t.Stream); err != nil {
		return err
	}
	if !t.Limits.On() || t.Limits.TTL <= 0 {
		return fmt.Errorf("%w: stream %s: limits %+v keep nothing", history.ErrInvalid, t.Stream, t.Limits)
	}
	return nil
}

// Since implements history.Store.
func (s *Store) Since(ctx context.Context, name, epoch string, offset int64, limit int) (history.Range, error) {
	return s.read(ctx, name, epoch, offset, limit, false)
}

// Tail implements history.Store.
func (s *Store) Tail(ctx context.Context, name, epoch string, offset int64, limit int) (history.Range, error) {
	return s.read(ctx, name, epoch, offset, limit, true)
}

func (s *Store) read(ctx context.Context, name, epoch string, offset int64, limit int, tail bool) (history.Range, error) {
	if err := history.CheckRead(ctx, name, epoch, offset, limit); err != nil {
		return history.Range{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.live(name, now)
	if st == nil {
		return history.TailOf(nil, 1, history.Pos{Stream: name}, epoch, offset, limit), nil
	}
	s.trim(st, now)
	cur := history.Pos{Stream: name, Epoch: st.epoch, Offset: st.last}
	first := st.last + 1
	if len(st.msgs) > 0 {
		first = st.msgs[0].Offset
	}
	// Copy only what the rule can return: the messages after offset (or
	// all) and at most limit of them, from the right end.
	msgs := st.msgs
	if i := offset - first + 1; i > 0 && i <= int64(len(msgs)) && (epoch == "" || epoch == st.epoch) {
		msgs = msgs[i:]
	}
	if len(msgs) > limit {
		if tail || !recoverable(cur, first, epoch, offset) {
			msgs = msgs[len(msgs)-limit:]
		} else {
			msgs = msgs[:limit]
		}
	}
	kept := make([]history.Message, len(msgs))
	for i, e := range msgs {
		kept[i] = e.Message
	}
	if tail {
		return history.TailOf(kept, first, cur, epoch, offset, limit), nil
	}
	return history.ResultOf(kept, cur, epoch, offset, limit), nil
}

// recoverable is the rule of history.ResultOf: every message after
// (epoch, offset) is kept.
func recoverable(cur history.Pos, first int64, epoch string, offset int64) bool {
	return (epoch == "" || epoch == cur.Epoch) && offset <= cur.Offset && first <= offset+1
}

// live is the stream if it has not expired.
func (s *Store) live(name string, now time.Time) *stream {
	st := s.streams[name]
	if st == nil || s.expired(name, st, now) {
		return nil
	}
	return st
}

// Position implements history.Store.
func (s *Store) Position(ctx context.Context, name string) (history.Pos, error) {
	if err := ctx.Err(); err != nil {
		return history.Pos{}, err
	}
	if _, err := history.ParseStream(name); err != nil {
		return history.Pos{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.live(name, s.now())
	if st == nil {
		return history.Pos{Stream: name}, nil
	}
	return history.Pos{Stream: name, Epoch: st.epoch, Offset: st.last}, nil
}

// Ack implements history.Store.
func (s *Store) Ack(ctx context.Context, name, epoch string, offset int64) (history.AckResult, error) {
	if err := history.CheckAck(ctx, name, epoch, offset); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.live(name, s.now())
	switch {
	case st == nil || st.epoch != epoch:
		return history.AckOtherEpoch, nil
	case offset > st.last:
		return history.AckBeyond, nil
	case offset <= st.acked:
		return history.AckStale, nil
	}
	st.acked = offset
	return history.AckAdvanced, nil
}

// Acked implements history.Store.
func (s *Store) Acked(ctx context.Context, name string) (history.Pos, bool, error) {
	if err := ctx.Err(); err != nil {
		return history.Pos{}, false, err
	}
	if _, err := history.ParseStream(name); err != nil {
		return history.Pos{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.live(name, s.now())
	if st == nil || st.acked == 0 {
		return history.Pos{Stream: name}, false, nil
	}
	return history.Pos{Stream: name, Epoch: st.epoch, Offset: st.acked}, true, nil
}

// Streams is how many streams the store holds.
func (s *Store) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}
