package kafkaq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/internal/closing"
	"github.com/goim-edge/goim-edge/control/queue/internal/lanes"
	"github.com/goim-edge/goim-edge/control/queue/internal/retry"
)

// Consumer joins the topic's consumer group. Each Run is one group member
// with its own client: it joins when Run starts and leaves when Run
// returns, so its partitions move to the other jobs at once.
type Consumer struct {
	cfg    Config
	policy retry.Policy
	log    *slog.Logger

	closed    chan struct{}
	closeOnce sync.Once
}

var _ queue.Consumer = (*Consumer)(nil)

// NewConsumer returns a consumer of cfg.Topic in cfg.Group.
func NewConsumer(cfg Config) *Consumer {
	cfg = withDefaults(cfg)
	return &Consumer{cfg: cfg, policy: retry.FromConfig(cfg.DeliveryConfig), log: slog.Default(), closed: make(chan struct{})}
}

// WithLogger sets the logger (nil: slog.Default()).
func (c *Consumer) WithLogger(l *slog.Logger) *Consumer {
	if l == nil {
		l = slog.Default()
	}
	c.log = l
	return c
}

// Close makes running Runs return.
func (c *Consumer) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

// Run consumes until ctx is done or Close, then commits what was handled,
// leaves the group and returns nil. Broker outages are retried by the
// client; Run only logs them.
func (c *Consumer) Run(ctx context.Context, h queue.Handler) error {
	ctx, cancel, err := closing.Context(ctx, c.closed)
	if err != nil {
		return fmt.Errorf("kafka queue: run: %w", err)
	}
	defer cancel()
	base, err := baseOpts(c.cfg, c.log)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(base,
		kgo.ConsumerGroup(c.cfg.Group),
		kgo.ConsumeTopics(c.cfg.Topic),
		// A new group starts at the oldest record, so pushes queued before
		// the first job ever started are delivered.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Only records marked after the handler accepted them are
		// committed, by us after each batch and by the client on revoke
		// and on leaving.
		kgo.AutoCommitMarks(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(c.cfg.SessionTimeout),
		kgo.RebalanceTimeout(c.cfg.RebalanceTimeout),
		kgo.HeartbeatInterval(c.cfg.HeartbeatInterval),
		// A dead-letter producer shares the client.
		kgo.DefaultProduceTopic(DeadTopic(c.cfg)),
	)...)
	if err != nil {
		return fmt.Errorf("kafka queue: consumer: %w", err)
	}
	defer func() {
		// A poll cut short by ctx still holds the rebalance lock; Close
		// (commit marks, leave the group) needs it released.
		cl.AllowRebalance()
		cl.Close()
	}()
	if c.cfg.CreateTopics {
		// The dead-letter topic must exist before the first poison record;
		// without it, moving one aside would stall its partition.
		if err := CreateTopics(ctx, cl, c.cfg); err != nil {
			c.log.Warn("kafka queue: create topics failed; continuing", "topic", c.cfg.Topic, "err", err)
		}
	}
	l := lanes.New(c.cfg.Workers, c.cfg.Batch)
	defer l.Wait()
	r := &runner{c: c, cl: cl, h: h, lanes: l, bo: retry.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}}
	for ctx.Err() == nil {
		fetches := cl.PollRecords(ctx, c.cfg.Batch)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			break
		}
		r.batch(ctx, fetches)
		cl.AllowRebalance()
	}
	return nil
}

type runner struct {
	c     *Consumer
	cl    *kgo.Client
	h     queue.Handler
	lanes *lanes.Lanes
	bo    retry.Backoff
}

// batch handles one poll's records, then commits per partition the
// records up to the first one that was not finished.
func (r *runner) batch(ctx context.Context, fetches kgo.Fetches) {
	c := r.c
	var errs int
	fetches.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.Canceled) {
			return
		}
		errs++
		queue.ConsumeErrorsTotal.WithLabelValues(kind).Inc()
		c.log.Warn("kafka queue: fetch failed", "topic", topic, "partition", p, "err", err)
	})
	recs := fetches.Records()
	if len(recs) == 0 {
		if errs > 0 {
			r.bo.Wait(ctx)
		}
		return
	}
	r.bo.Reset()
	var lag int64
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if n := len(p.Records); n > 0 {
			lag += p.HighWatermark - p.Records[n-1].Offset - 1
		}
	})
	queue.Lag.WithLabelValues(kind).Set(float64(lag))

	done := make([]bool, len(recs))
	var wg sync.WaitGroup
	wg.Add(len(recs))
	for i, rec := range recs {
		d := &queue.Delivery{Queue: kind, ID: strconv.Itoa(int(rec.Partition)) + "/" + strconv.FormatInt(rec.Offset, 10), Attempt: 1}
		msg, err := queue.Decode(rec.Value)
		if err != nil {
			retry.LogPoison(c.log, kind, d, err)
			done[i] = r.moveAside(ctx, rec, d, err)
			wg.Done()
			continue
		}
		d.Msg = msg
		// Records of one partition arrive in offset order and one target
		// lives in one partition, so the lane keeps the target's order.
		r.lanes.Go(queue.TargetKey(msg), func() {
			defer wg.Done()
			out, err := retry.Handle(ctx, kind, r.h, d, c.policy, c.log)
			switch out {
			case retry.Acked:
				done[i] = true
			case retry.Poison:
				retry.LogPoison(c.log, kind, d, err)
				done[i] = r.moveAside(ctx, rec, d, err)
			}
		})
	}
	wg.Wait()
	r.commit(ctx, recs, done)
}

// commit marks, per partition, the finished prefix of the batch and
// commits it. A record left unfinished (the consumer is stopping) stops
// its partition's prefix there: it and what follows are delivered again.
func (r *runner) commit(ctx context.Context, recs []*kgo.Record, done []bool) {
	type tp struct {
		t string
		p int32
	}
	blocked := map[tp]bool{}
	var marks []*kgo.Record
	for i, rec := range recs {
		k := tp{rec.Topic, rec.Partition}
		if blocked[k] {
			continue
		}
		if !done[i] {
			blocked[k] = true
			continue
		}
		marks = append(marks, rec)
	}
	if len(marks) == 0 {
		return
	}
	r.cl.MarkCommitRecords(marks...)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.c.cfg.SessionTimeout)
	defer cancel()
	if err := r.cl.CommitMarkedOffsets(cctx); err != nil {
		// The marks stay; the client commits them again on revoke or close.
		queue.ConsumeErrorsTotal.WithLabelValues(kind).Inc()
		r.c.log.Warn("kafka queue: commit failed; records may be delivered again", "topic", r.c.cfg.Topic, "err", err)
	}
}

// moveAside produces a poison record to the dead-letter topic, retrying
// while the brokers are unavailable. It reports whether it succeeded (the
// record may then be committed).
func (r *runner) moveAside(ctx context.Context, rec *kgo.Record, d *queue.Delivery, reason error) bool {
	dead := &kgo.Record{
		Key:   rec.Key,
		Value: rec.Value,
		Headers: []kgo.RecordHeader{
			{Key: headerSource, Value: []byte(rec.Topic + "/" + d.ID)},
			{Key: headerError, Value: []byte(reason.Error())},
			{Key: headerAttempts, Value: []byte(strconv.Itoa(d.Attempt))},
		},
	}
	bo := retry.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		err := r.cl.ProduceSync(ctx, dead).FirstErr()
		if err == nil {
			return true
		}
		queue.ConsumeErrorsTotal.WithLabelValues(kind).Inc()
		r.c.log.Warn("kafka queue: produce dead letter failed; retrying", "topic", DeadTopic(r.c.cfg), "source", d.ID, "err", err)
		if !bo.Wait(ctx) {
			return false
		}
	}
}
