package edge

import (
	"context"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// renewOnlineLoop reports room counts to logic every RenewOnlineInterval
// and keeps the cluster-wide counts heartbeat replies use.
func (s *Server) renewOnlineLoop() {
	t := time.NewTicker(s.cfg.RenewOnlineInterval)
	defer t.Stop()
	s.renewOnline()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.renewOnline()
		}
	}
}

func (s *Server) renewOnline() {
	counts := make(map[string]int32)
	for _, b := range s.shards.buckets {
		b.roomCounts(counts)
	}
	st := s.Stats()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LogicTimeout)
	defer cancel()
	resp, err := s.logic.RenewOnline(ctx, &logic.RenewOnlineReq{
		Server:    s.cfg.Node,
		RoomCount: counts,
		ConnCount: int32(st.Conns),
		IpCount:   int32(st.IPs),
	})
	if err != nil {
		// Heartbeats fall back to local counts until logic answers again.
		logicErrorsTotal.WithLabelValues("renew_online").Inc()
		s.log.Warn("edge: renew online", "err", logicError(err))
		return
	}
	s.observeEpoch(resp.StoreEpoch)
	all := resp.AllRoomCount
	if all == nil {
		all = map[string]int32{}
	}
	s.allRooms.Store(&all)
}

// background runs fn, a call to logic on a session's behalf, bounded by
// logicSem and tracked for Shutdown.
func (s *Server) background(method string, fn func(ctx context.Context) error) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.logicSem <- struct{}{}
		defer func() { <-s.logicSem }()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LogicTimeout)
		defer cancel()
		err := fn(ctx)
		logicCallsTotal.WithLabelValues(method).Inc()
		if err != nil {
			logicErrorsTotal.WithLabelValues(method).Inc()
			s.log.Debug("edge: call logic", "method", method, "err", logicError(err))
		}
	}()
}

// renewRoute extends the route of (mid, key) in logic.
func (s *Server) renewRoute(mid int64, key string) {
	s.background("heartbeat", func(ctx context.Context) error {
		resp, err := s.logic.Heartbeat(ctx, &logic.HeartbeatReq{Mid: mid, Key: key, Server: s.cfg.Node})
		if err == nil {
			s.observeEpoch(resp.StoreEpoch)
		}
		return err
	})
}

// disconnect removes the route of (mid, key) in logic. A device that
// reconnects here with the same key while this call is in flight would
// lose the route its new connection just made (logic cannot tell the two
// connections apart: same key, same edge), so if a newer session holds
// the key once the call is done, its route is restored at once (logic's
// Heartbeat re-adds a missing route) instead of at its next renewal.
func (s *Server) disconnect(mid int64, key string) {
	s.background("disconnect", func(ctx context.Context) error {
		if _, err := s.logic.Disconnect(ctx, &logic.DisconnectReq{Mid: mid, Key: key, Server: s.cfg.Node}); err != nil {
			return err
		}
		if cur := s.bucketFor(key).get(key); cur != nil {
			_, err := s.logic.Heartbeat(ctx, &logic.HeartbeatReq{Mid: cur.mid, Key: key, Server: s.cfg.Node})
			return err
		}
		return nil
	})
}
