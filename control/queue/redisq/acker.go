package redisq

import (
	"context"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/internal/retry"
)

// maxAckBatch bounds the ids of one XACK.
const maxAckBatch = 512

// acker acknowledges handled messages in batches: one XACK round trip per
// batch instead of one per message, which is what lets the workers keep
// the stream moving.
type acker struct {
	s    *shard
	ids  chan string
	stop chan struct{}
	done chan struct{}
}

func newAcker(s *shard) *acker {
	a := &acker{s: s, ids: make(chan string, 4096), stop: make(chan struct{}), done: make(chan struct{})}
	go a.loop()
	return a
}

// add queues id for XACK; it blocks while Redis is down and the buffer
// full, which holds the workers back. If the consumer stops meanwhile the
// ack is dropped: the message stays pending and is delivered again (at
// least once), rather than the shutdown hanging on a dead Redis.
func (a *acker) add(ctx context.Context, id string) {
	select {
	case a.ids <- id:
		return
	default:
	}
	select {
	case a.ids <- id:
	case <-ctx.Done():
		a.s.setInFlight(id, false)
	}
}

// close flushes what is queued (one try each) and stops.
func (a *acker) close() {
	close(a.stop)
	<-a.done
}

func (a *acker) loop() {
	defer close(a.done)
	bo := retry.Backoff{Min: 50 * time.Millisecond, Max: 2 * time.Second}
	batch := make([]string, 0, maxAckBatch)
	for {
		select {
		case id := <-a.ids:
			batch = append(batch[:0], id)
		case <-a.stop:
			a.drain(batch[:0])
			return
		}
		batch = a.fill(batch)
		for !a.send(batch) {
			select {
			case <-a.stop:
				a.drain(batch)
				return
			default:
			}
			stopCtx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-a.stop:
					cancel()
				case <-stopCtx.Done():
				}
			}()
			bo.Wait(stopCtx)
			cancel()
		}
		bo.Reset()
		a.s.doneInFlight(batch)
	}
}

// fill adds whatever ids are already queued, up to maxAckBatch.
func (a *acker) fill(batch []string) []string {
	for len(batch) < maxAckBatch {
		select {
		case id := <-a.ids:
			batch = append(batch, id)
		default:
			return batch
		}
	}
	return batch
}

// drain sends every queued id once, on shutdown, and gives up at the
// first failure (Redis is down: those messages are delivered again).
func (a *acker) drain(batch []string) {
	for {
		batch = a.fill(batch)
		if len(batch) == 0 {
			return
		}
		ok := a.send(batch)
		a.s.doneInFlight(batch)
		if !ok {
			for len(a.ids) > 0 {
				a.s.setInFlight(<-a.ids, false)
			}
			return
		}
		batch = batch[:0]
	}
}

func (a *acker) send(ids []string) bool {
	c := a.s.c
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	if err := c.rdb.XAck(ctx, a.s.stream, c.cfg.Group, ids...).Err(); err != nil {
		queue.ConsumeErrorsTotal.WithLabelValues(kind).Inc()
		c.log.Warn("redis queue: xack failed; retrying (unacked messages are redelivered if this job dies)",
			"stream", a.s.stream, "count", len(ids), "err", err)
		return false
	}
	return true
}
