package redisq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/internal/closing"
	"github.com/goim-edge/goim-edge/control/queue/internal/lanes"
	"github.com/goim-edge/goim-edge/control/queue/internal/retry"
)

// laneDepth bounds the messages read ahead per worker. Read-ahead sits in
// the pending list ageing towards ClaimMinIdle, so it stays small.
const laneDepth = 8

// maxClaimRounds bounds the XAUTOCLAIM calls of one claim cycle so a
// large takeover cannot starve fresh messages.
const maxClaimRounds = 8

// Consumer is one named member of the consumer group of every shard's
// stream: it runs one reader per shard, all feeding the same workers.
type Consumer struct {
	cfg    Config
	rdb    redis.UniversalClient
	own    bool
	policy retry.Policy
	log    *slog.Logger

	closed    chan struct{}
	closeOnce sync.Once
	// runMu is held shared by Run; Close takes it to wait until every Run
	// has flushed its acks before the client goes.
	runMu sync.RWMutex

	shards []*shard
}

// shard is the consumer's state for one shard's stream. Stream ids are
// only unique within a stream, so everything keyed by id lives here.
type shard struct {
	c      *Consumer
	stream string
	dead   string
	// multi is set when the queue has several shards: Delivery.ID then
	// names the stream too.
	multi bool

	mu       sync.Mutex
	inFlight map[string]struct{} // ids dispatched and not finished

	lag atomic.Int64 // group lag + pending at the last claim cycle; -1 unknown
}

var _ queue.Consumer = (*Consumer)(nil)

// NewConsumer returns a consumer named cfg.Consumer that connects lazily;
// it makes its own client and closes it on Close.
func NewConsumer(cfg Config) *Consumer {
	c := NewConsumerWithClient(clientOrBroken(cfg), cfg)
	c.own = true
	return c
}

// NewConsumerWithClient consumes through rdb, which the caller closes.
func NewConsumerWithClient(rdb redis.UniversalClient, cfg Config) *Consumer {
	cfg = withDefaults(cfg)
	c := &Consumer{
		cfg:    cfg,
		rdb:    rdb,
		policy: retry.FromConfig(cfg.DeliveryConfig),
		log:    slog.Default(),
		closed: make(chan struct{}),
	}
	streams := shardStreams(cfg)
	for _, name := range streams {
		s := &shard{c: c, stream: name, dead: name + ":dead", multi: len(streams) > 1, inFlight: map[string]struct{}{}}
		s.lag.Store(-1)
		c.shards = append(c.shards, s)
	}
	return c
}

// WithLogger sets the logger (nil: slog.Default()).
func (c *Consumer) WithLogger(l *slog.Logger) *Consumer {
	if l == nil {
		l = slog.Default()
	}
	c.log = l
	return c
}

// Name is this consumer's name in the group.
func (c *Consumer) Name() string { return c.cfg.Consumer }

// Close makes Run return (messages in hand stay pending, to be claimed)
// and closes the client if the consumer made it.
func (c *Consumer) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		c.runMu.Lock()
		defer c.runMu.Unlock()
		if c.own {
			err = c.rdb.Close()
		}
	})
	return err
}

// Run consumes until ctx is done or Close; it returns nil then. A Redis
// outage is logged and retried with backoff; Run never gives up on it.
// Each shard has its own reader, acker and backoff; the workers
// (delivery.workers lanes by target) are shared.
func (c *Consumer) Run(ctx context.Context, h queue.Handler) error {
	c.runMu.RLock()
	defer c.runMu.RUnlock()
	ctx, cancel, err := closing.Context(ctx, c.closed)
	if err != nil {
		return fmt.Errorf("redis queue: run: %w", err)
	}
	defer cancel()
	acks := make([]*acker, len(c.shards))
	for i, s := range c.shards {
		acks[i] = newAcker(s)
	}
	l := lanes.New(c.cfg.Workers, laneDepth)
	defer func() {
		l.Wait() // handlers still running see ctx done and stop
		for _, a := range acks {
			a.close()
		}
	}()
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		c.refreshLoop(ctx) // refresh.go: slow handlers keep their messages
	}()
	defer func() { <-refreshed }()
	var wg sync.WaitGroup
	for i, s := range c.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &runner{s: s, c: c, h: h, lanes: l, acks: acks[i], bo: retry.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}}
			r.loop(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// runner is the state of one shard's reader in one Run.
type runner struct {
	s     *shard
	c     *Consumer
	h     queue.Handler
	lanes *lanes.Lanes
	acks  *acker
	bo    retry.Backoff
}

func (r *runner) loop(ctx context.Context) {
	c, s := r.c, r.s
	groupReady := false
	readID := "0" // our own pending messages first (a restart under the same name)
	var nextClaim, nextCleanup time.Time
	for ctx.Err() == nil {
		if !groupReady {
			if err := s.ensureGroup(ctx); err != nil {
				r.fail(ctx, "create group", err)
				continue
			}
			groupReady = true
		}
		if !time.Now().Before(nextClaim) {
			if err := r.claim(ctx); err != nil {
				groupReady = !isNoGroup(err)
				r.fail(ctx, "xautoclaim", err)
				continue
			}
			s.reportLag(ctx)
			if time.Now().After(nextCleanup) {
				s.dropGoneConsumers(ctx)
				nextCleanup = time.Now().Add(goneAfter(c.cfg) / 4)
			}
			nextClaim = time.Now().Add(c.cfg.ClaimInterval)
		}
		block := min(c.cfg.Block, time.Until(nextClaim))
		if readID != ">" {
			block = -1 // history reads never block
		} else if block < time.Millisecond {
			block = time.Millisecond
		}
		streams, err := c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: c.cfg.Group, Consumer: c.cfg.Consumer,
			Streams: []string{s.stream, readID}, Count: c.cfg.Batch, Block: block,
		}).Result()
		if errors.Is(err, redis.Nil) {
			r.ok()
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			groupReady = !isNoGroup(err)
			r.fail(ctx, "xreadgroup", err)
			continue
		}
		r.ok()
		var msgs []redis.XMessage
		if len(streams) > 0 {
			msgs = streams[0].Messages
		}
		if readID == ">" {
			// The whole batch is pending on this consumer from now on,
			// also the part still waiting for a free lane: in flight, so
			// it is refreshed rather than claimed by another job.
			s.markInFlight(msgs)
			for _, m := range msgs {
				r.dispatch(ctx, m, 1)
			}
			continue
		}
		if len(msgs) == 0 {
			readID = ">"
			continue
		}
		readID = msgs[len(msgs)-1].ID
		r.dispatchRedelivered(ctx, msgs)
	}
}

// dispatchRedelivered hands over messages delivered before, with their
// delivery counts from XPENDING. Messages this consumer is still handling
// (a slow handler, or claimed an instant ago) are skipped, not doubled.
func (r *runner) dispatchRedelivered(ctx context.Context, msgs []redis.XMessage) {
	fresh := msgs[:0:0]
	for _, m := range msgs {
		if !r.s.isInFlight(m.ID) {
			fresh = append(fresh, m)
		}
	}
	msgs = fresh
	if len(msgs) == 0 {
		return
	}
	r.s.markInFlight(msgs)
	counts := r.s.deliveryCounts(ctx, msgs)
	n := 0
	for _, m := range msgs {
		if counts[m.ID] == notPending {
			// The read that returned it began before its XACK (or another
			// consumer claimed it since): handled, or someone else's now.
			r.s.setInFlight(m.ID, false)
			continue
		}
		r.dispatch(ctx, m, counts[m.ID])
		n++
	}
	queue.RedeliveredTotal.WithLabelValues(kind).Add(float64(n))
}

// claim takes over messages idle longer than ClaimMinIdle in the pending
// lists of any consumer, presumed dead.
func (r *runner) claim(ctx context.Context) error {
	c, s := r.c, r.s
	start := "0-0"
	for range maxClaimRounds {
		msgs, next, deleted, err := c.rdb.XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
			Stream: s.stream, Group: c.cfg.Group, Consumer: c.cfg.Consumer,
			MinIdle: c.cfg.ClaimMinIdle, Start: start, Count: c.cfg.Batch,
		}).Result()
		if err != nil {
			return err
		}
		if len(deleted) > 0 {
			queue.ConsumeErrorsTotal.WithLabelValues(kind).Add(float64(len(deleted)))
			c.log.Warn("redis queue: pending messages were trimmed from the stream before delivery (raise max_len)",
				"stream", s.stream, "count", len(deleted))
		}
		if len(msgs) > 0 {
			c.log.Info("redis queue: claimed messages idle longer than claim_min_idle (their consumer is gone or stuck)",
				"stream", s.stream, "consumer", c.cfg.Consumer, "count", len(msgs))
			r.dispatchRedelivered(ctx, msgs)
		}
		if next == "0-0" || next == "" {
			return nil
		}
		start = next
	}
	return nil
}

func (r *runner) dispatch(ctx context.Context, m redis.XMessage, attempt int) {
	c, s := r.c, r.s
	id := m.ID
	raw, _ := m.Values[fieldData].(string)
	msg, err := queue.Decode([]byte(raw))
	d := &queue.Delivery{Msg: msg, Queue: kind, ID: s.deliveryID(id), Attempt: attempt}
	if err != nil {
		retry.LogPoison(c.log, kind, d, err)
		s.moveAside(ctx, d, id, raw, err)
		s.setInFlight(id, false)
		return
	}
	// The id stays in flight until its XACK is sent (or it is moved
	// aside, or given up), so a claim cycle never hands it out twice.
	s.setInFlight(id, true)
	r.lanes.Go(queue.TargetKey(msg), func() {
		out, err := retry.Handle(ctx, kind, r.h, d, c.policy, c.log)
		switch out {
		case retry.Acked:
			r.acks.add(ctx, id)
		case retry.Poison:
			retry.LogPoison(c.log, kind, d, err)
			s.moveAside(ctx, d, id, raw, err)
			s.setInFlight(id, false)
		case retry.Aborted:
			// Left pending: this consumer after a restart, or another one
			// after ClaimMinIdle, delivers it again.
			s.setInFlight(id, false)
		}
	})
}

// deliveryID is Delivery.ID of stream entry id: the entry id when the
// queue is one stream (as it always was), "<stream>/<id>" when sharded,
// since two streams can hold the same id.
func (s *shard) deliveryID(id string) string {
	if s.multi {
		return s.stream + "/" + id
	}
	return id
}

func (r *runner) fail(ctx context.Context, op string, err error) {
	queue.ConsumeErrorsTotal.WithLabelValues(kind).Inc()
	if r.bo.Failing() {
		r.c.log.Debug("redis queue: still failing", "stream", r.s.stream, "op", op, "err", err)
	} else {
		r.c.log.Warn("redis queue: unavailable, retrying with backoff", "stream", r.s.stream, "op", op, "err", err)
	}
	r.bo.Wait(ctx)
}

func (r *runner) ok() {
	if r.bo.Failing() {
		r.c.log.Info("redis queue: available again", "stream", r.s.stream)
		r.bo.Reset()
	}
}

func (s *shard) setInFlight(id string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.inFlight[id] = struct{}{}
	} else {
		delete(s.inFlight, id)
	}
}

// markInFlight marks a batch just read as in flight.
func (s *shard) markInFlight(msgs []redis.XMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		s.inFlight[m.ID] = struct{}{}
	}
}

// doneInFlight forgets ids whose XACK was sent or given up.
func (s *shard) doneInFlight(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.inFlight, id)
	}
}

func (s *shard) isInFlight(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.inFlight[id]
	return ok
}

// ensureGroup creates the group (and the stream) if missing. A new group
// starts at the beginning of the stream so that nothing published before
// the first job started is skipped.
func (s *shard) ensureGroup(ctx context.Context) error {
	c := s.c
	err := c.rdb.XGroupCreateMkStream(ctx, s.stream, c.cfg.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return err
	}
	return nil
}

// deliveryCounts asks XPENDING how often each message was delivered,
// this delivery included. A message XPENDING says is not pending on this
// consumer gets notPending; one it could not ask about gets 2: it is a
// redelivery, that much is known.
func (s *shard) deliveryCounts(ctx context.Context, msgs []redis.XMessage) map[string]int {
	c := s.c
	out := make(map[string]int, len(msgs))
	cmds := make([]*redis.XPendingExtCmd, len(msgs))
	_, _ = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range msgs {
			cmds[i] = p.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: s.stream, Group: c.cfg.Group, Start: m.ID, End: m.ID, Count: 1, Consumer: c.cfg.Consumer,
			})
		}
		return nil
	})
	for i, m := range msgs {
		out[m.ID] = 2
		p, err := cmds[i].Result()
		switch {
		case err == nil && len(p) == 0:
			out[m.ID] = notPending
		case err == nil && len(p) == 1 && p[0].RetryCount > 0:
			out[m.ID] = int(p[0].RetryCount)
		}
	}
	return out
}

// notPending is deliveryCounts' answer for a message no longer pending on
// this consumer: a redelivery read (XREADGROUP from 0, XAUTOCLAIM) that
// was in flight while the message's XACK landed still returns it, and the
// ack cleared its in-flight mark, so only the PEL can tell it is done.
// When XPENDING itself fails the message is delivered (at least once).
const notPending = -1

// moveAside copies a poison message (entry id of the shard's stream) to
// the shard's dead-letter stream and acks it, atomically: both keys share
// the shard's slot. If Redis fails, the message stays pending and is
// taken over, found out of attempts, and moved aside later.
func (s *shard) moveAside(ctx context.Context, d *queue.Delivery, id, raw string, reason error) {
	c := s.c
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
	defer cancel()
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{
			Stream: s.dead, MaxLen: c.cfg.DeadMaxLen, Approx: c.cfg.DeadMaxLen > 0,
			Values: []any{fieldData, raw, fieldOrigID, id, fieldError, reason.Error(), fieldAttempts, d.Attempt},
		})
		p.XAck(ctx, s.stream, c.cfg.Group, id)
		return nil
	})
	if err != nil {
		queue.ConsumeErrorsTotal.WithLabelValues(kind).Inc()
		c.log.Warn("redis queue: move poison message aside failed; it stays pending", "stream", s.stream, "id", id, "err", err)
	}
}

// reportLag records the shard group's lag (Redis 7+: entries not yet
// delivered, plus pending ones) and publishes the sum over the shards.
func (s *shard) reportLag(ctx context.Context) {
	c := s.c
	groups, err := c.rdb.XInfoGroups(ctx, s.stream).Result()
	if err != nil {
		return
	}
	for _, g := range groups {
		if g.Name == c.cfg.Group && g.Lag >= 0 {
			s.lag.Store(g.Lag + g.Pending)
		}
	}
	var sum int64
	for _, o := range c.shards {
		sum += max(o.lag.Load(), 0)
	}
	queue.Lag.WithLabelValues(kind).Set(float64(sum))
}

// goneAfter is how long a consumer with nothing pending must have been
// silent before it is removed from the group. Live consumers poll every
// Block, so this is far beyond anything alive.
func goneAfter(cfg Config) time.Duration {
	return max(cfg.ForgetAfter, 10*cfg.ClaimMinIdle, 10*cfg.Block)
}

// dropGoneConsumers deletes group members that hold nothing and have not
// polled for goneAfter: every restart under a new name (hostname-pid)
// leaves one behind, and XINFO CONSUMERS would grow forever.
func (s *shard) dropGoneConsumers(ctx context.Context) {
	c := s.c
	members, err := c.rdb.XInfoConsumers(ctx, s.stream, c.cfg.Group).Result()
	if err != nil {
		return
	}
	limit := goneAfter(c.cfg)
	for _, m := range members {
		if m.Name == c.cfg.Consumer || m.Pending > 0 || m.Idle < limit {
			continue
		}
		if err := c.rdb.XGroupDelConsumer(ctx, s.stream, c.cfg.Group, m.Name).Err(); err == nil {
			c.log.Info("redis queue: removed a long-gone consumer from the group", "stream", s.stream, "consumer", m.Name, "idle", m.Idle)
		}
	}
}

func isNoGroup(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOGROUP")
}
