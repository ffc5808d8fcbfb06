package logic

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// Route recovery. The store names its generation (store.Store.Epoch); a
// store that lost its data (Redis restarted empty, flushed) comes back
// with a new epoch. Logic hands the epoch to edges in every Connect,
// Heartbeat, RenewOnline and Epoch answer, from a cache re-checked at
// most every Config.EpochRefresh, so a thousand edges polling cost one
// store read per interval. An edge that sees a new epoch re-registers
// every route it holds through Restore, page by page and paced, and
// reports its room counts at once.
//
// Guarantees:
//   - Restore never overwrites a route that points at another edge (a
//     newer connection of the key elsewhere); it re-adds missing routes
//     and rewrites those already pointing at the calling edge.
//   - RestoreResp.store_epoch is read from the store after the page was
//     written: when it differs from the epoch the edge is restoring into,
//     the store was lost again (or the edge's view was stale) and the
//     edge starts over with the epoch it got.
//   - Epochs are random (128 bits): a superseded epoch never becomes
//     current again, so edges may ignore one they have left behind.

// MaxRestoreRoutes bounds one Restore call's page; edges send pages of a
// few hundred.
const MaxRestoreRoutes = 10000

// epochCache is the store's epoch as last read, and when.
type epochCache struct {
	mu         sync.Mutex
	value      string
	at         time.Time
	refreshing bool
	// changed is when logic last saw the epoch change (zero: never).
	changed time.Time
}

// storeEpoch is the cached epoch, re-read from the store when older than
// Config.EpochRefresh. One caller re-reads; the others answer with the
// value they find (possibly "" before the first read succeeds, which
// edges ignore), so a slow store does not hold up Connect.
func (l *Logic) storeEpoch(ctx context.Context) string {
	c := &l.epoch
	c.mu.Lock()
	if (c.value != "" && l.now().Sub(c.at) < l.cfg.EpochRefresh) || c.refreshing {
		v := c.value
		c.mu.Unlock()
		return v
	}
	c.refreshing = true
	c.mu.Unlock()
	v, err := l.readEpoch(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		l.log.Warn("store epoch", "err", err)
		return c.value
	}
	return v
}

// readEpoch reads the epoch from the store now and caches it.
func (l *Logic) readEpoch(ctx context.Context) (string, error) {
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	v, err := l.store.Epoch(cctx)
	if err != nil {
		return "", fmt.Errorf("logic: store epoch: %w", err)
	}
	c := &l.epoch
	c.mu.Lock()
	if c.value != "" && c.value != v {
		c.changed = l.now()
		epochChangesTotal.Inc()
		l.log.Warn("route store lost its data: new epoch; edges will restore their routes", "was", c.value, "now", v)
	}
	c.value, c.at = v, l.now()
	c.mu.Unlock()
	return v, nil
}

// restoring reports whether the store lost its data within
// Config.RestoreWindow, so a target without a route may be one an edge
// has not restored yet. Callers ask only when a push missed a target, and
// it reads the epoch from the store each time: a cached epoch read just
// before a loss would let a push that misses just after it through as
// code 0. Pushes to offline users pay that one read; pushes that find
// every target pay nothing.
func (l *Logic) restoring(ctx context.Context) bool {
	if l.cfg.RestoreWindow <= 0 {
		return false
	}
	if _, err := l.readEpoch(ctx); err != nil {
		l.log.Warn("store epoch", "err", err)
	}
	c := &l.epoch
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.changed.IsZero() && l.now().Sub(c.changed) < l.cfg.RestoreWindow
}

// Epoch names the route store's current generation (see EpochResp in
// idl/logic.thrift), from the cache. It fails only when the store has
// never answered.
func (l *Logic) Epoch(ctx context.Context, req *logic.EpochReq) (*logic.EpochResp, error) {
	e := l.storeEpoch(ctx)
	if e == "" {
		// Never read yet: try once more now, and say why it failed.
		var err error
		if e, err = l.readEpoch(ctx); err != nil {
			return nil, err
		}
	}
	return &logic.EpochResp{StoreEpoch: e}, nil
}

// Restore re-writes routes an edge still holds after the store lost them;
// see the guarantees above. The answer carries the epoch read after the
// write.
func (l *Logic) Restore(ctx context.Context, req *logic.RestoreReq) (*logic.RestoreResp, error) {
	resp, err := l.restore(ctx, req)
	if err != nil {
		restoreCallsTotal.WithLabelValues("error").Inc()
		return nil, err
	}
	restoreCallsTotal.WithLabelValues("ok").Inc()
	routesRestoredTotal.Add(float64(resp.Restored))
	return resp, nil
}

func (l *Logic) restore(ctx context.Context, req *logic.RestoreReq) (*logic.RestoreResp, error) {
	if req.GetServer() == "" {
		return nil, invalidf("restore: server is required")
	}
	if len(req.Routes) > MaxRestoreRoutes {
		return nil, invalidf("restore: %d routes in one call, at most %d", len(req.Routes), MaxRestoreRoutes)
	}
	routes := make([]store.Route, 0, len(req.Routes))
	for i, r := range req.Routes {
		if r == nil || r.Key == "" {
			return nil, invalidf("restore: routes[%d] has no key", i)
		}
		routes = append(routes, store.Route{Mid: r.Mid, Key: r.Key, Server: req.Server})
	}
	cctx, cancel := l.callCtx(ctx)
	n, err := l.store.RestoreRoutes(cctx, routes, l.cfg.RouteTTL)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("logic: restore %d routes of %s: %w", len(routes), req.Server, err)
	}
	epoch, err := l.readEpoch(ctx)
	if err != nil {
		return nil, fmt.Errorf("logic: restore %d routes of %s: %w", len(routes), req.Server, err)
	}
	if epoch != req.StoreEpoch {
		l.log.Info("restore into a superseded epoch; the edge starts over", "server", req.Server, "asked", req.StoreEpoch, "now", epoch)
	}
	return &logic.RestoreResp{Restored: int32(n), StoreEpoch: epoch}, nil
}
