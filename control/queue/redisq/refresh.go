package redisq

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/queue"
)

// Why pending entries are refreshed: XAUTOCLAIM hands a message to another
// consumer once it has been pending ClaimMinIdle, presuming its consumer
// dead. A live consumer whose handler is merely slow (job waiting on a
// slow edge, or for an edge within its grace) would see its messages
// taken over and handled twice, out of order. So while a message is in
// flight here, its pending entry is touched (XCLAIM to this same consumer
// with JUSTID: the idle time restarts, the delivery count does not grow)
// every third of ClaimMinIdle. Only a consumer that stopped refreshing
// (dead, or cut off from Redis) loses its messages to others.
//
// It runs beside the read loop, which can itself wait on full worker
// lanes behind the slow handler.

// refreshEvery is how often in-flight messages are touched.
func refreshEvery(cfg Config) time.Duration {
	return max(cfg.ClaimMinIdle/3, time.Millisecond)
}

// refreshLoop touches this consumer's in-flight entries until ctx ends.
func (c *Consumer) refreshLoop(ctx context.Context) {
	t := time.NewTicker(refreshEvery(c.cfg))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, s := range c.shards {
				s.refreshInFlight(ctx)
			}
		}
	}
}

// maxRefreshBatch bounds the ids of one XCLAIM.
const maxRefreshBatch = 512

// refreshInFlight restarts the idle time of the shard's in-flight
// entries that have been idle for a third of ClaimMinIdle or more
// (fresher ones are left alone: XCLAIM's MIN-IDLE-TIME skips them).
func (s *shard) refreshInFlight(ctx context.Context) {
	c := s.c
	s.mu.Lock()
	ids := make([]string, 0, len(s.inFlight))
	for id := range s.inFlight {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for len(ids) > 0 {
		n := min(len(ids), maxRefreshBatch)
		rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		err := c.rdb.XClaimJustID(rctx, &redis.XClaimArgs{
			Stream: s.stream, Group: c.cfg.Group, Consumer: c.cfg.Consumer,
			MinIdle: refreshEvery(c.cfg), Messages: ids[:n],
		}).Err()
		cancel()
		if err != nil && ctx.Err() == nil {
			queue.ConsumeErrorsTotal.WithLabelValues(kind).Inc()
			c.log.Debug("redis queue: refreshing in-flight messages failed (they may be claimed by another consumer after claim_min_idle)",
				"stream", s.stream, "count", n, "err", err)
			return
		}
		ids = ids[n:]
	}
}
