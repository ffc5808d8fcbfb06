package app

import (
	"context"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/goim-edge/goim-edge/control/logic"
	logicapi "github.com/goim-edge/goim-edge/kitex_gen/logic"
	logicsvc "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
)

// localLogic is the edge's logic client in standalone mode: the same Logic
// service, called in process instead of over loopback RPC. Call options
// (per-call timeouts, host overrides) concern the network and do not
// apply; the edge's own context deadlines still do.
type localLogic struct{ l *logic.Logic }

var _ logicsvc.Client = localLogic{}

func (c localLogic) Connect(ctx context.Context, req *logicapi.ConnectReq, _ ...callopt.Option) (*logicapi.ConnectResp, error) {
	return c.l.Connect(ctx, req)
}

func (c localLogic) Disconnect(ctx context.Context, req *logicapi.DisconnectReq, _ ...callopt.Option) (*logicapi.DisconnectResp, error) {
	return c.l.Disconnect(ctx, req)
}

func (c localLogic) Heartbeat(ctx context.Context, req *logicapi.HeartbeatReq, _ ...callopt.Option) (*logicapi.HeartbeatResp, error) {
	return c.l.Heartbeat(ctx, req)
}

func (c localLogic) RenewOnline(ctx context.Context, req *logicapi.RenewOnlineReq, _ ...callopt.Option) (*logicapi.RenewOnlineResp, error) {
	return c.l.RenewOnline(ctx, req)
}

func (c localLogic) Receive(ctx context.Context, req *logicapi.ReceiveReq, _ ...callopt.Option) (*logicapi.ReceiveResp, error) {
	return c.l.Receive(ctx, req)
}

func (c localLogic) Epoch(ctx context.Context, req *logicapi.EpochReq, _ ...callopt.Option) (*logicapi.EpochResp, error) {
	return c.l.Epoch(ctx, req)
}

func (c localLogic) Restore(ctx context.Context, req *logicapi.RestoreReq, _ ...callopt.Option) (*logicapi.RestoreResp, error) {
	return c.l.Restore(ctx, req)
}

func (c localLogic) Resume(ctx context.Context, req *logicapi.ResumeReq, _ ...callopt.Option) (*logicapi.ResumeResp, error) {
	return c.l.Resume(ctx, req)
}

func (c localLogic) Ack(ctx context.Context, req *logicapi.AckReq, _ ...callopt.Option) (*logicapi.AckResp, error) {
	return c.l.Ack(ctx, req)
}
