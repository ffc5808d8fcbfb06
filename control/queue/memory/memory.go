// Package memory is the in-process bounded queue of standalone mode: logic
// and job in one process share one *Queue as producer and consumer.
//
// Semantics (what queuetest checks for it):
//   - Publish blocks while the queue is full, until there is room, ctx is
//     done or the queue is closed. Backpressure reaches the pusher (whose
//     HTTP request carries a deadline) instead of silently dropping pushes.
//   - Run hands messages to the handler on Workers lanes; messages of one
//     target (queue.TargetKey) go to one lane, so they are handled in
//     publish order. With several concurrent Run calls on one Queue the
//     load is shared and per-target order is not guaranteed.
//   - A handler error is retried on the same lane (Attempt counts up, with
//     backoff) up to MaxAttempts; then, or at once on queue.ErrPoison, the
//     message is logged, counted and moved to the dead-letter list (Dead).
//   - A consumer that stops (ctx done) with messages in hand puts them back
//     at the head of the queue with their attempt count; the next Run gets
//     them first. Nothing survives the process: this queue is for
//     standalone mode only.
package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/internal/lanes"
	"github.com/goim-edge/goim-edge/control/queue/internal/retry"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

const kind = queue.KindMemory

// Config is the memory queue's configuration.
type Config = queue.MemoryConfig

// DefaultConfig returns the memory queue's defaults.
func DefaultConfig() Config { return queue.DefaultMemoryConfig() }

type entry struct {
	id      uint64
	msg     *common.PushMsg
	attempt int // deliveries so far
}

// Queue is a bounded in-process queue; it is both a queue.Producer and a
// queue.Consumer. Close stops both sides.
type Queue struct {
	cfg    Config
	policy retry.Policy
	log    *slog.Logger

	ch     chan *entry
	kick   chan struct{} // wakes a Run when entries were put back
	closed chan struct{}
	pubMu  sync.RWMutex // Publish holds R; Close takes W to wait them out
	done   bool         // guarded by pubMu

	mu      sync.Mutex
	requeue []*entry // put back by stopped consumers; delivered first
	dead    []queue.Delivery
	deadN   int64

	seq   atomic.Uint64
	close sync.Once
}

var (
	_ queue.Producer = (*Queue)(nil)
	_ queue.Consumer = (*Queue)(nil)
)

// New returns an empty queue. Zero fields of cfg take their defaults.
func New(cfg Config) *Queue {
	def := DefaultConfig()
	if cfg.Size <= 0 {
		cfg.Size = def.Size
	}
	if cfg.DeadSize <= 0 {
		cfg.DeadSize = def.DeadSize
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	return &Queue{
		cfg:    cfg,
		policy: retry.FromConfig(cfg.DeliveryConfig),
		log:    slog.Default(),
		ch:     make(chan *entry, cfg.Size),
		kick:   make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
}

// WithLogger sets the logger for poison and retry reports (nil:
// slog.Default()).
func (q *Queue) WithLogger(l *slog.Logger) *Queue {
	if l == nil {
		l = slog.Default()
	}
	q.log = l
	return q
}

// Publish enqueues msg, blocking while the queue is full. The queue keeps
// msg itself (no copy): the caller must not change it afterwards.
func (q *Queue) Publish(ctx context.Context, msg *common.PushMsg) error {
	if msg == nil {
		return errors.New("memory queue: publish nil message")
	}
	q.pubMu.RLock()
	defer q.pubMu.RUnlock()
	if q.done {
		queue.PublishErrorsTotal.WithLabelValues(kind).Inc()
		return fmt.Errorf("memory queue: publish: %w", queue.ErrClosed)
	}
	e := &entry{id: q.seq.Add(1), msg: msg}
	select {
	case q.ch <- e:
		queue.PublishedTotal.WithLabelValues(kind).Inc()
		queue.Lag.WithLabelValues(kind).Set(float64(q.Len()))
		return nil
	case <-ctx.Done():
		queue.PublishErrorsTotal.WithLabelValues(kind).Inc()
		return fmt.Errorf("memory queue: publish (queue full, %d): %w", q.cfg.Size, ctx.Err())
	case <-q.closed:
		queue.PublishErrorsTotal.WithLabelValues(kind).Inc()
		return fmt.Errorf("memory queue: publish: %w", queue.ErrClosed)
	}
}

// Run delivers messages to h until ctx is done (messages in hand are put
// back) or the queue is closed (what is already queued is delivered first;
// then Run returns nil).
func (q *Queue) Run(ctx context.Context, h queue.Handler) error {
	l := lanes.New(q.cfg.Workers, 64)
	defer l.Wait()
	for {
		e := q.next(ctx)
		if e == nil {
			return nil
		}
		l.Go(queue.TargetKey(e.msg), func() { q.handle(ctx, h, e) })
	}
}

// next returns the next entry, or nil when ctx is done or the queue is
// closed and drained.
func (q *Queue) next(ctx context.Context) *entry {
	for {
		if e := q.popRequeued(); e != nil {
			return e
		}
		select {
		case e := <-q.ch:
			queue.Lag.WithLabelValues(kind).Set(float64(q.Len()))
			return e
		case <-q.kick:
		case <-ctx.Done():
			return nil
		case <-q.closed:
			select {
			case e := <-q.ch:
				return e
			default:
				return nil
			}
		}
	}
}

func (q *Queue) popRequeued() *entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.requeue) == 0 {
		return nil
	}
	e := q.requeue[0]
	q.requeue = q.requeue[1:]
	return e
}

func (q *Queue) handle(ctx context.Context, h queue.Handler, e *entry) {
	d := &queue.Delivery{Msg: e.msg, Queue: kind, ID: strconv.FormatUint(e.id, 10), Attempt: e.attempt + 1}
	if ctx.Err() != nil { // dispatched but never started
		q.putBack(e)
		return
	}
	out, err := retry.Handle(ctx, kind, h, d, q.policy, q.log)
	switch out {
	case retry.Poison:
		retry.LogPoison(q.log, kind, d, err)
		q.moveAside(*d)
	case retry.Aborted:
		// The handler was cut short: that try does not count as delivered.
		e.attempt = d.Attempt - 1
		q.putBack(e)
	}
}

func (q *Queue) putBack(e *entry) {
	q.mu.Lock()
	q.requeue = append(q.requeue, e)
	q.mu.Unlock()
	queue.RedeliveredTotal.WithLabelValues(kind).Inc()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

func (q *Queue) moveAside(d queue.Delivery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deadN++
	if len(q.dead) >= q.cfg.DeadSize {
		q.dead = append(q.dead[:0], q.dead[1:]...)
	}
	q.dead = append(q.dead, d)
}

// Dead returns the most recent poison messages (up to DeadSize), oldest first.
func (q *Queue) Dead() []queue.Delivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queue.Delivery(nil), q.dead...)
}

// DeadCount is how many messages were moved aside since New.
func (q *Queue) DeadCount() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.deadN
}

// Len is how many messages wait for a consumer.
func (q *Queue) Len() int {
	q.mu.Lock()
	n := len(q.requeue)
	q.mu.Unlock()
	return n + len(q.ch)
}

// Close stops publishing at once; running consumers deliver what is queued
// and return. Close is idempotent.
func (q *Queue) Close() error {
	q.close.Do(func() {
		close(q.closed)
		q.pubMu.Lock()
		q.done = true
		q.pubMu.Unlock()
	})
	return nil
}
