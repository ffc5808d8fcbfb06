package logic

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// Connect authenticates a device's auth frame and records its route.
// A refused token returns an error for which IsRefused holds; the edge
// closes the connection on any Connect error (goim: the server just closes).
func (l *Logic) Connect(ctx context.Context, req *logic.ConnectReq) (*logic.ConnectResp, error) {
	resp, err := l.connect(ctx, req)
	switch {
	case err == nil:
		connectsTotal.WithLabelValues("ok").Inc()
	case IsRefused(err):
		connectsTotal.WithLabelValues("refused").Inc()
	default:
		connectsTotal.WithLabelValues("error").Inc()
	}
	return resp, err
}

func (l *Logic) connect(ctx context.Context, req *logic.ConnectReq) (*logic.ConnectResp, error) {
	if req.GetServer() == "" {
		return nil, invalidf("connect: server is required")
	}
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	id, err := l.auth.Authenticate(cctx, req.Token)
	if err != nil {
		if errors.Is(err, auth.ErrRefused) {
			l.log.Debug("auth refused", "server", req.Server, "remote", req.RemoteAddr, "err", err)
			return nil, refused(err)
		}
		return nil, fmt.Errorf("logic: connect from %s: authenticate: %w", req.RemoteAddr, err)
	}
	if id.Key == "" {
		id.Key = uuid.NewString()
	}
	r := store.Route{Mid: id.Mid, Key: id.Key, Server: req.Server}
	if err := l.store.AddRoute(cctx, r, l.cfg.RouteTTL); err != nil {
		return nil, fmt.Errorf("logic: connect mid %d key %s on %s: %w", id.Mid, id.Key, req.Server, err)
	}
	l.log.Debug("connect", "mid", id.Mid, "key", id.Key, "server", req.Server, "rooms", id.Rooms)
	resp := &logic.ConnectResp{
		Mid:         id.Mid,
		Key:         id.Key,
		Rooms:       id.Rooms,
		Accepts:     id.Accepts,
		HeartbeatMs: l.cfg.HeartbeatDeadline().Milliseconds(),
		StoreEpoch:  l.storeEpoch(ctx),
	}
	if id.Restricted {
		// Set even when empty: an empty list grants no room, where an
		// unset one grants any.
		resp.RoomGrants = append([]string{}, id.RoomGrants...)
	}
	return resp, nil
}

// Disconnect removes the device's route unless a newer connection of the
// same key (on another edge) has replaced it; Removed says which.
func (l *Logic) Disconnect(ctx context.Context, req *logic.DisconnectReq) (*logic.DisconnectResp, error) {
	if req.GetServer() == "" || req.GetKey() == "" {
		disconnectsTotal.WithLabelValues("error").Inc()
		return nil, invalidf("disconnect: server and key are required")
	}
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	removed, err := l.store.DelRoute(cctx, store.Route{Mid: req.Mid, Key: req.Key, Server: req.Server})
	if err != nil {
		disconnectsTotal.WithLabelValues("error").Inc()
		return nil, fmt.Errorf("logic: disconnect mid %d key %s on %s: %w", req.Mid, req.Key, req.Server, err)
	}
	if removed {
		disconnectsTotal.WithLabelValues("removed").Inc()
	} else {
		disconnectsTotal.WithLabelValues("stale").Inc()
	}
	return &logic.DisconnectResp{Removed: removed}, nil
}

// Heartbeat renews the device's route. A route that expired (the edge
// renewed too late, or the store lost it) is restored, as goim does; a route
// that now points at another edge is left alone, because the device has
// reconnected there and this connection is the stale one.
func (l *Logic) Heartbeat(ctx context.Context, req *logic.HeartbeatReq) (*logic.HeartbeatResp, error) {
	result, err := l.heartbeat(ctx, req)
	heartbeatsTotal.WithLabelValues(result).Inc()
	if err != nil {
		return nil, err
	}
	return &logic.HeartbeatResp{StoreEpoch: l.storeEpoch(ctx)}, nil
}

func (l *Logic) heartbeat(ctx context.Context, req *logic.HeartbeatReq) (string, error) {
	if req.GetServer() == "" || req.GetKey() == "" {
		return "error", invalidf("heartbeat: server and key are required")
	}
	cctx, cancel := l.callCtx(ctx)
	defer cancel()
	r := store.Route{Mid: req.Mid, Key: req.Key, Server: req.Server}
	servers, err := l.store.ServersByKeys(cctx, []string{req.Key})
	if err != nil {
		return "error", fmt.Errorf("logic: heartbeat key %s on %s: %w", req.Key, req.Server, err)
	}
	switch srv, ok := servers[req.Key]; {
	case !ok:
		if err := l.store.AddRoute(cctx, r, l.cfg.RouteTTL); err != nil {
			return "error", fmt.Errorf("logic: heartbeat key %s on %s: restore route: %w", req.Key, req.Server, err)
		}
		return "restored", nil
	case srv != req.Server:
		return "stale", nil
	}
	if err := l.store.RenewRoute(cctx, r, l.cfg.RouteTTL); err != nil {
		return "error", fmt.Errorf("logic: heartbeat key %s on %s: %w", req.Key, req.Server, err)
	}
	return "renewed", nil
}
