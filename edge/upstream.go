package edge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/logic"
	"github.com/goim-edge/goim-edge/protocol"
)

// Upstream limits: what one device can make the edge and logic do.
//
//   - A token bucket per connection (UpstreamRate, UpstreamBurst) on the
//     frames that cost work: upstream messages, room changes, sub/unsub.
//     A frame over the rate is dropped without a reply (a reply would
//     tell the device it was taken) and counted; more than
//     UpstreamMaxRefused drops within refusedWindow close the connection
//     (reason "rate_limited"). Heartbeats draw nothing unless they come
//     within heartbeatFreeGap of the previous one (frames.go).
//   - Upstream messages reach logic through UpstreamParallel edge-wide
//     slots: the forwarding is never a queue of its own. A connection's
//     reader waits for its message to be handed over (its later frames
//     wait in the input buffer: backpressure), for at most LogicTimeout.
//   - While it waits, the connection's unprocessed input is watched and
//     the connection closed once it holds more than MaxInputBuffer bytes
//     (see tcp.go for why netpoll needs this instead of simply not
//     reading).

// refusedWindow is the span over which dropped frames are counted
// against UpstreamMaxRefused.
const refusedWindow = 10 * time.Second

// inputWatchEvery is how often a reader waiting for logic checks its
// connection's unprocessed input. At loopback speed a device can send
// a few MiB in that time; over a network far less.
const inputWatchEvery = 2 * time.Millisecond

// errRateLimited ends a connection that keeps sending over its rate.
var errRateLimited = errors.New("edge: upstream frames over the rate limit")

// sessionExt is the part of a session only some connections need; see
// session.ext. Only the connection's reader touches it after auth.
type sessionExt struct {
	// Token bucket, filled lazily: tokens as of last (monotonic nanos).
	tokens  float64
	last    int64
	started bool
	// refused counts dropped frames since refusedSince (monotonic).
	refused      int32
	refusedSince int64
	// grants, when granted, are the only rooms the connection may join:
	// exact ids, or prefixes ending in "*".
	grants  []string
	granted bool
	// pending is an op 26 sent before auth (reader only).
	pending *pendingResume
	// resume is the recovery state of a positioned connection, under
	// qmu; pushers read it only once qPositioned is set (resume.go).
	resume *resumeState
}

// extension returns the session's sessionExt, making it on first use.
func (s *session) extension() *sessionExt {
	if s.ext == nil {
		s.ext = &sessionExt{}
	}
	return s.ext
}

// limitedOp reports whether op draws from the upstream token bucket.
func limitedOp(op int32) bool {
	switch op {
	case protocol.OpChangeRoom, protocol.OpJoinRoom, protocol.OpLeaveRoom, protocol.OpSub, protocol.OpUnsub:
		return true
	}
	return op == protocol.OpResume || op == protocol.OpAck || upstreamOp(op)
}

// allowUpstream takes a token for one limited frame at now (monotonic
// nanos). false: drop the frame; errRateLimited: close the connection.
func (s *session) allowUpstream(now int64) (bool, error) {
	cfg := &s.srv.cfg
	if cfg.UpstreamRate <= 0 {
		return true, nil
	}
	e := s.extension()
	burst := float64(cfg.UpstreamBurst)
	if !e.started {
		e.started, e.tokens = true, burst
	} else if d := now - e.last; d > 0 {
		e.tokens = min(burst, e.tokens+float64(d)/float64(time.Second)*cfg.UpstreamRate)
	}
	e.last = now
	if e.tokens >= 1 {
		e.tokens--
		return true, nil
	}
	upstreamRefusedTotal.Inc()
	if now-e.refusedSince > int64(refusedWindow) {
		e.refused, e.refusedSince = 0, now
	}
	e.refused++
	if int(e.refused) > cfg.UpstreamMaxRefused {
		return false, fmt.Errorf("%w: %d frames dropped within %v", errRateLimited, e.refused, refusedWindow)
	}
	return false, nil
}

// inputLener is a transport that can tell how many received bytes wait
// unprocessed (netpoll's input buffer).
type inputLener interface {
	inputLen() int
}

// watchInput closes the session, and calls cancel, once its transport
// holds more than MaxInputBuffer unprocessed bytes, checking every
// inputWatchEvery until stop is called. The reader uses it while it
// waits, since then nothing else looks at its input.
//
// It runs on a runtime timer rather than a goroutine and ticker of its
// own: most calls to logic end before the first check, and then the
// watch cost one timer.
func (s *session) watchInput(cancel context.CancelFunc) (stop func()) {
	in, ok := s.t.(inputLener)
	if !ok {
		return func() {}
	}
	limit := s.srv.cfg.MaxInputBuffer
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	mu.Lock()
	t = time.AfterFunc(inputWatchEvery, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if in.inputLen() > limit {
			inputOverflowTotal.Inc()
			s.close("input_overflow")
			cancel()
			return
		}
		t.Reset(inputWatchEvery)
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}

// receive forwards an upstream message to logic (upstreamCall). A
// message that cannot be handed over is dropped and counted; goim
// acknowledges upstream messages either way, and the device cannot do
// better.
func (s *session) receive(f protocol.Frame) {
	upstreamTotal.Inc()
	s.upstreamCall("receive", func(ctx context.Context) error {
		_, err := s.srv.logic.Receive(ctx, &logic.ReceiveReq{
			Mid: s.mid, Key: s.key, Op: f.Op, Body: f.Body, Server: s.srv.cfg.Node,
		})
		return err
	})
}

// upstreamCall makes one call to logic on a device's behalf (what, for
// metrics and logs) through one of the edge's UpstreamParallel slots,
// within LogicTimeout overall, watching the connection's input meanwhile.
func (s *session) upstreamCall(what string, call func(context.Context) error) {
	srv := s.srv
	ctx, cancel := context.WithTimeout(context.Background(), srv.cfg.LogicTimeout)
	defer cancel()
	stop := s.watchInput(cancel)
	defer stop()
	select {
	case srv.upSlots <- struct{}{}:
	case <-ctx.Done():
		// Not logic's failure: the edge's forwarding slots were all busy.
		logicErrorsTotal.WithLabelValues(what + "_no_slot").Inc()
		s.srv.log.Debug("edge: no slot to forward to logic", "what", what, "key", s.key, "err", ctx.Err())
		return
	}
	defer func() { <-srv.upSlots }()
	if err := call(ctx); err != nil {
		logicErrorsTotal.WithLabelValues(what).Inc()
		s.srv.log.Debug("edge: forward to logic", "what", what, "key", s.key, "err", logicError(err))
	}
}

// setGrants records the rooms logic's Connect allows (nil: any room).
func (s *session) setGrants(grants []string, set bool) {
	if !set {
		return
	}
	e := s.extension()
	e.granted = true
	e.grants = grants
}

// mayJoin reports whether the connection's grants allow room id.
func (s *session) mayJoin(id string) bool {
	e := s.ext
	if e == nil || !e.granted {
		return true
	}
	return roomGranted(e.grants, id)
}

// roomGranted matches id against grants: an exact room id, or a prefix
// ending in "*" ("live://*" grants every live room; "*" every room).
func roomGranted(grants []string, id string) bool {
	for _, g := range grants {
		if p, ok := strings.CutSuffix(g, "*"); ok {
			if strings.HasPrefix(id, p) {
				return true
			}
		} else if g == id {
			return true
		}
	}
	return false
}
