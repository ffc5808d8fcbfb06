package httpapi

import (
	"context"

	"github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
	"github.com/goim-edge/goim-edge/registry"
)

// Service is what the HTTP API needs of logic; *logic.Logic implements it.
type Service interface {
	EnqueueKeys(ctx context.Context, op int32, keys []string, body []byte) ([]string, error)
	EnqueueMids(ctx context.Context, op int32, mids []int64, body []byte) ([]string, error)
	EnqueueRoom(ctx context.Context, op int32, typ, room string, body []byte) ([]string, error)
	EnqueueAll(ctx context.Context, op, speed int32, body []byte) ([]string, error)
	EnqueueKeysAt(ctx context.Context, op int32, keys []string, body []byte) (logic.Enqueued, error)
	EnqueueMidsAt(ctx context.Context, op int32, mids []int64, body []byte) (logic.Enqueued, error)
	EnqueueRoomAt(ctx context.Context, op int32, typ, room string, body []byte) (logic.Enqueued, error)
	StreamHistory(ctx context.Context, stream, epoch string, offset int64, limit int) (history.Range, error)
	StreamPosition(ctx context.Context, stream string) (history.Pos, error)
	StreamAcked(ctx context.Context, stream string) (history.Pos, bool, error)
	TopRooms(ctx context.Context, typ string, limit int) ([]logic.RoomCount, error)
	RoomOnline(ctx context.Context, typ string, rooms []string) (map[string]int64, error)
	TotalOnline(ctx context.Context) (logic.Totals, error)
	WeightedNodes(ctx context.Context, platform, clientIP string) (*push.NodesWeightedResp, error)
	EdgeInstances() []registry.Instance
	// Limits are the push limits the API checks and sizes its server by.
	Limits() logic.Limits
}

var _ Service = (*logic.Logic)(nil)
