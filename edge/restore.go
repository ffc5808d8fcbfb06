package edge

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// Route recovery. Logic's route store names its generation, the store
// epoch, in every Connect, Heartbeat and RenewOnline answer and in the
// Epoch call the edge makes every EpochInterval. A different epoch means
// the store lost its data (Redis restarted empty, flushed): the edge then
// reports its room counts at once (RenewOnline) and re-registers the
// route of every device it holds through logic's Restore, RestoreBatch
// routes per call at RestoreRate routes per second, so a large edge does
// not stampede the store. Restore never takes a key that has meanwhile
// connected to another edge.
//
// Each Restore answer carries the epoch logic read after writing the
// page. When it differs from the one being restored into, the store was
// lost again (start over with the new epoch) or the epoch that started
// the restore was a stale answer from a logic whose cache lagged (the
// answer is then the epoch the routes are already in: stop). Epochs are
// random, so one the edge has left behind is never current again and is
// ignored when a lagging logic repeats it.

// epochsKept is how many superseded epochs the edge remembers.
const epochsKept = 8

// restoreRetry is the pause before retrying a failed Restore call.
const restoreRetry = time.Second

// epochWatch is what the edge knows of the store's epoch.
type epochWatch struct {
	mu sync.Mutex
	// current is the epoch the edge's routes are known to be in ("" until
	// the first answer names one).
	current string
	// pending is a different epoch seen since, to restore into.
	pending string
	// left are epochs superseded, newest last.
	left []string
	// kick wakes the epoch loop when pending is set.
	kick chan struct{}
}

// observeEpoch takes note of an epoch named by logic ("" names none: a
// store or logic without epochs).
func (s *Server) observeEpoch(e string) {
	if e == "" {
		return
	}
	w := &s.epoch
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.current == "":
		w.current = e
	case e == w.current || e == w.pending || slices.Contains(w.left, e):
	default:
		w.pending = e
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// epochLoop polls logic's Epoch every EpochInterval (0: only the epochs
// in other answers count) and restores routes when the epoch changes.
func (s *Server) epochLoop() {
	var tick <-chan time.Time
	if s.cfg.EpochInterval > 0 {
		t := time.NewTicker(s.cfg.EpochInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-s.stop:
			return
		case <-tick:
			s.pollEpoch()
		case <-s.epoch.kick:
			s.epoch.mu.Lock()
			target := s.epoch.pending
			s.epoch.mu.Unlock()
			if target != "" {
				s.restoreRoutes(target)
			}
		}
	}
}

func (s *Server) pollEpoch() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LogicTimeout)
	defer cancel()
	resp, err := s.logic.Epoch(ctx, &logic.EpochReq{Server: s.cfg.Node})
	if err != nil {
		logicErrorsTotal.WithLabelValues("epoch").Inc()
		s.log.Debug("edge: store epoch", "err", logicError(err))
		return
	}
	s.observeEpoch(resp.StoreEpoch)
}

// restoreRoutes re-registers every route and the room counts into target
// (see the top of this file). It returns early only on Shutdown.
func (s *Server) restoreRoutes(target string) {
	start := time.Now()
	s.epoch.mu.Lock()
	was := s.epoch.current
	s.epoch.mu.Unlock()
	s.log.Warn("edge: route store epoch changed; restoring routes", "node", s.cfg.Node, "was", was, "now", target)
	batch := s.cfg.RestoreBatch
	every := time.Duration(float64(time.Second) * float64(batch) / float64(s.cfg.RestoreRate))
	restored, pages := 0, 0
	var all []*session
outer:
	for {
		s.renewOnline()
		all = s.sessionsSnapshot()
		next := time.Now()
		for i := 0; i == 0 || i < len(all); {
			if !s.sleepUntil(next) {
				return
			}
			end := min(i+batch, len(all))
			page := all[i:end]
			routes := make([]*logic.Route, 0, len(page))
			for _, sess := range page {
				if !sess.isClosed() {
					routes = append(routes, &logic.Route{Mid: sess.mid, Key: sess.key})
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LogicTimeout)
			resp, err := s.logic.Restore(ctx, &logic.RestoreReq{Server: s.cfg.Node, Routes: routes, StoreEpoch: target})
			cancel()
			if err != nil {
				logicErrorsTotal.WithLabelValues("restore").Inc()
				s.log.Warn("edge: restore routes; retrying", "routes", len(routes), "err", logicError(err))
				next = time.Now().Add(restoreRetry)
				continue
			}
			pages++
			restored += int(resp.Restored)
			routesRestoredTotal.Add(float64(resp.Restored))
			// A device that left while its route was being written must
			// not keep it: remove it again (disconnect re-adds the route
			// of a newer session of the same key).
			for _, sess := range page {
				if sess.isClosed() && s.bucketFor(sess.key).get(sess.key) == nil {
					s.disconnect(sess.mid, sess.key)
				}
			}
			if now := resp.StoreEpoch; now != "" && now != target {
				s.epoch.mu.Lock()
				current := s.epoch.current
				s.epoch.mu.Unlock()
				if now == current {
					// target was a lagging logic's answer: the routes are
					// in the current epoch already.
					s.finishRestore(target, current, false)
					s.log.Info("edge: epoch change was a stale answer; routes are current", "epoch", current, "pages", pages)
					return
				}
				s.log.Warn("edge: route store lost again during the restore; starting over", "restoring", target, "now", now)
				s.supersede(target)
				target = now
				continue outer
			}
			if end == len(all) {
				break
			}
			i = end
			next = next.Add(every)
		}
		break
	}
	s.finishRestore(target, target, true)
	restoresTotal.Inc()
	s.log.Warn("edge: routes restored", "epoch", target, "routes", len(all), "written", restored, "took", time.Since(start).Round(time.Millisecond).String())
}

// finishRestore records current as the routes' epoch; target, the epoch
// the restore aimed at, is no longer pending. With moved, the previous
// current epoch is superseded.
func (s *Server) finishRestore(target, current string, moved bool) {
	w := &s.epoch
	w.mu.Lock()
	defer w.mu.Unlock()
	if moved && w.current != current {
		w.left = appendLeft(w.left, w.current)
		w.current = current
	}
	if target != current {
		w.left = appendLeft(w.left, target)
	}
	if w.pending == target || w.pending == current || slices.Contains(w.left, w.pending) {
		w.pending = ""
	}
}

// supersede records e as left behind.
func (s *Server) supersede(e string) {
	s.epoch.mu.Lock()
	s.epoch.left = appendLeft(s.epoch.left, e)
	s.epoch.mu.Unlock()
}

func appendLeft(left []string, e string) []string {
	if e == "" || slices.Contains(left, e) {
		return left
	}
	left = append(left, e)
	if len(left) > epochsKept {
		left = slices.Delete(left, 0, len(left)-epochsKept)
	}
	return left
}

// sleepUntil waits until t; false when the server stops first.
func (s *Server) sleepUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-s.stop:
			return false
		default:
			return true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-s.stop:
		return false
	case <-timer.C:
		return true
	}
}
