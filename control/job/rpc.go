package job

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/connpool"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeservice "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	"github.com/goim-edge/goim-edge/registry"
)

// edgeRPC is a Kitex Edge client for one edge address. It is built on the
// generic Kitex client rather than edgeservice.NewClient because the
// generated wrapper hides Close, and job must release the connection pool
// of every edge that leaves.
type edgeRPC struct {
	c client.Client
}

func newEdgeRPC(addr string, cfg Config) (*edgeRPC, error) {
	c, err := client.NewClient(edgeservice.NewServiceInfoForClient(),
		client.WithDestService(registry.ServiceEdge),
		client.WithHostPorts(addr),
		client.WithRPCTimeout(cfg.RPCTimeout),
		client.WithConnectTimeout(cfg.ConnectTimeout),
		client.WithLongConnection(connpool.IdleConfig{
			MaxIdlePerAddress: cfg.MaxInflightPerEdge,
			MaxIdleGlobal:     1 << 20,
			MaxIdleTimeout:    time.Minute,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("job: edge client %s: %w", addr, err)
	}
	return &edgeRPC{c: c}, nil
}

func (r *edgeRPC) pushKeys(ctx context.Context, req *edge.PushKeysReq) (*edge.PushKeysResp, error) {
	args := edge.EdgePushKeysArgs{Req: req}
	var res edge.EdgePushKeysResult
	if err := r.c.Call(ctx, "PushKeys", &args, &res); err != nil {
		return nil, err
	}
	return res.GetSuccess(), nil
}

func (r *edgeRPC) pushRoom(ctx context.Context, req *edge.PushRoomReq) (*edge.PushRoomResp, error) {
	args := edge.EdgePushRoomArgs{Req: req}
	var res edge.EdgePushRoomResult
	if err := r.c.Call(ctx, "PushRoom", &args, &res); err != nil {
		return nil, err
	}
	return res.GetSuccess(), nil
}

func (r *edgeRPC) broadcast(ctx context.Context, req *edge.BroadcastReq) (*edge.BroadcastResp, error) {
	args := edge.EdgeBroadcastArgs{Req: req}
	var res edge.EdgeBroadcastResult
	if err := r.c.Call(ctx, "Broadcast", &args, &res); err != nil {
		return nil, err
	}
	return res.GetSuccess(), nil
}

func (r *edgeRPC) rooms(ctx context.Context) (*edge.RoomsResp, error) {
	args := edge.EdgeRoomsArgs{Req: &edge.RoomsReq{}}
	var res edge.EdgeRoomsResult
	if err := r.c.Call(ctx, "Rooms", &args, &res); err != nil {
		return nil, err
	}
	return res.GetSuccess(), nil
}

// close releases the client's pooled connections.
func (r *edgeRPC) close() error {
	if c, ok := r.c.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
