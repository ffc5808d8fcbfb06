package job

import (
	"context"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/goim-edge/goim-edge/edge"
	edgeapi "github.com/goim-edge/goim-edge/kitex_gen/edge"
	logicsvc "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/rpcauth"
)

// TestEdgeRPCSendsSecret: job's edge client carries Config.RPCSecret to
// a real edge that requires it, on every method job uses; without it the
// edge refuses the call.
func TestEdgeRPCSendsSecret(t *testing.T) {
	const secret = "job-test-rpc-secret-0123"
	lc, err := logicsvc.NewClient("goim.logic", client.WithHostPorts("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	ec := edge.DefaultConfig()
	ec.Node = "edge-job-auth"
	ec.TCPAddr, ec.WSAddr, ec.RPCAddr = "127.0.0.1:0", "", "127.0.0.1:0"
	ec.RenewOnlineInterval = time.Hour // its logic is unreachable on purpose
	ec.RPCAuth = rpcauth.Config{Secret: secret, MaxPayloadBytes: rpcauth.DefaultMaxPayloadBytes}
	e, err := edge.New(ec, lc)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	for _, tt := range []struct {
		secret  string
		refused bool
	}{{secret, false}, {"", true}, {secret + "-not", true}} {
		cfg := DefaultConfig()
		cfg.RPCSecret = tt.secret
		r, err := newEdgeRPC(e.Addrs().RPC, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		calls := map[string]func() error{
			"Rooms": func() error { _, err := r.rooms(ctx); return err },
			"PushKeys": func() error {
				_, err := r.pushKeys(ctx, &edgeapi.PushKeysReq{Keys: []string{"k"}, Op: 1000, Body: []byte("x")})
				return err
			},
			"PushRoom": func() error {
				_, err := r.pushRoom(ctx, &edgeapi.PushRoomReq{Room: "live://1", Msgs: []*edgeapi.RoomMsg{{Op: 1000, Body: []byte("x")}}})
				return err
			},
			"Broadcast": func() error {
				_, err := r.broadcast(ctx, &edgeapi.BroadcastReq{Op: 1000, Body: []byte("x")})
				return err
			},
		}
		for name, call := range calls {
			err := call()
			if tt.refused != rpcauth.IsRefused(err) || (!tt.refused && err != nil) {
				t.Errorf("secret %q, %s: error %v, refused should be %v", tt.secret, name, err, tt.refused)
			}
		}
		_ = r.close()
	}
}
