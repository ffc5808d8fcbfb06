package logic

import (
	"context"
	"fmt"

	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// Epoch names the route store's current generation (see EpochResp in
// idl/logic.thrift). An empty epoch means the store does not track one.
func (l *Logic) Epoch(ctx context.Context, req *logic.EpochReq) (*logic.EpochResp, error) {
	return &logic.EpochResp{}, nil
}

// Restore re-writes routes an edge still holds after the store lost them.
func (l *Logic) Restore(ctx context.Context, req *logic.RestoreReq) (*logic.RestoreResp, error) {
	if req.GetServer() == "" {
		return nil, invalidf("restore: server is required")
	}
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	n := int32(0)
	for _, r := range req.Routes {
		if r.GetKey() == "" {
			continue
		}
		if err := l.store.AddRoute(cctx, store.Route{Mid: r.Mid, Key: r.Key, Server: req.Server}, l.cfg.RouteTTL); err != nil {
			return nil, fmt.Errorf("logic: restore %d routes on %s: %w", len(req.Routes), req.Server, err)
		}
		n++
	}
	return &logic.RestoreResp{Restored: n}, nil
}
