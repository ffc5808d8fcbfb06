package logic

import (
	"context"

	"github.com/goim-edge/goim-edge/control/logic/nodes"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
)

// The Kitex Push service: the goim HTTP API's operations for Go services.
// Errors are push.PushError with goim's codes, so callers can tell their
// own mistakes (-400) from the server's (-500).

// PushKeys implements push.Push.
func (l *Logic) PushKeys(ctx context.Context, req *push.PushKeysReq) (*push.PushResp, error) {
	e, err := l.EnqueueKeysAt(ctx, req.GetOp(), req.GetKeys(), req.GetBody())
	return pushRespAt(e, err)
}

// PushMids implements push.Push.
func (l *Logic) PushMids(ctx context.Context, req *push.PushMidsReq) (*push.PushResp, error) {
	e, err := l.EnqueueMidsAt(ctx, req.GetOp(), req.GetMids(), req.GetBody())
	return pushRespAt(e, err)
}

// PushRoom implements push.Push.
func (l *Logic) PushRoom(ctx context.Context, req *push.PushRoomReq) (*push.PushResp, error) {
	e, err := l.EnqueueRoomAt(ctx, req.GetOp(), req.GetType(), req.GetRoom(), req.GetBody())
	return pushRespAt(e, err)
}

// PushAll implements push.Push.
func (l *Logic) PushAll(ctx context.Context, req *push.PushAllReq) (*push.PushResp, error) {
	ids, err := l.EnqueueAll(ctx, req.GetOp(), req.GetSpeed(), req.GetBody())
	return pushResp(ids, err)
}

// OnlineTop implements push.Push.
func (l *Logic) OnlineTop(ctx context.Context, req *push.OnlineTopReq) (*push.OnlineTopResp, error) {
	top, err := l.TopRooms(ctx, req.GetType(), int(req.GetLimit()))
	if err != nil {
		return nil, pushError(err)
	}
	resp := &push.OnlineTopResp{Rooms: make([]*push.RoomCount, len(top))}
	for i, r := range top {
		resp.Rooms[i] = &push.RoomCount{RoomId: r.RoomID, Count: r.Count}
	}
	return resp, nil
}

// OnlineRoom implements push.Push.
func (l *Logic) OnlineRoom(ctx context.Context, req *push.OnlineRoomReq) (*push.OnlineRoomResp, error) {
	counts, err := l.RoomOnline(ctx, req.GetType(), req.GetRooms())
	if err != nil {
		return nil, pushError(err)
	}
	return &push.OnlineRoomResp{Counts: counts}, nil
}

// OnlineTotal implements push.Push.
func (l *Logic) OnlineTotal(ctx context.Context, _ *push.OnlineTotalReq) (*push.OnlineTotalResp, error) {
	t, err := l.TotalOnline(ctx)
	if err != nil {
		return nil, pushError(err)
	}
	return &push.OnlineTotalResp{IpCount: t.IPs, ConnCount: t.Conns}, nil
}

// NodesWeighted implements push.Push.
func (l *Logic) NodesWeighted(ctx context.Context, req *push.NodesWeightedReq) (*push.NodesWeightedResp, error) {
	resp, err := l.WeightedNodes(ctx, req.GetPlatform(), req.GetClientIp())
	if err != nil {
		return nil, pushError(err)
	}
	return resp, nil
}

// NodesInstances implements push.Push.
func (l *Logic) NodesInstances(ctx context.Context, _ *push.NodesInstancesReq) (*push.NodesInstancesResp, error) {
	s, err := nodes.InstancesJSON(l.edges())
	if err != nil {
		return nil, pushError(err)
	}
	return &push.NodesInstancesResp{InstancesJson: s}, nil
}

func pushResp(ids []string, err error) (*push.PushResp, error) {
	if err != nil {
		return nil, pushError(err)
	}
	return &push.PushResp{MsgIds: ids}, nil
}

// pushRespAt is the answer with the positions in the target streams
// (the field is left unset when history is off for every target).
func pushRespAt(e Enqueued, err error) (*push.PushResp, error) {
	if err != nil {
		return nil, pushError(err)
	}
	resp := &push.PushResp{MsgIds: e.IDs}
	if len(e.Positions) > 0 {
		resp.Positions = streamPositions(e.Positions)
	}
	return resp, nil
}

// pushError turns err into the IDL exception, the only error shape a Kitex
// client receives intact.
func pushError(err error) error {
	return &push.PushError{Code: Code(err), Message: err.Error()}
}
