package push

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudwego/kitex/client"

	pushapi "github.com/goim-edge/goim-edge/kitex_gen/push"
	pushclient "github.com/goim-edge/goim-edge/kitex_gen/push/push"
	"github.com/goim-edge/goim-edge/rpcauth"
)

// Kitex pushes through goim-edge's Kitex Push service (logic's RPC port).
type Kitex struct {
	c pushclient.Client
}

// NewKitex returns a pusher for the Push service at addr (host:port),
// sending secret (the server's rpc.secret; empty for a server without).
func NewKitex(addr, secret string) (*Kitex, error) {
	c, err := pushclient.NewClient("push", append(rpcauth.ClientOptions(secret),
		client.WithHostPorts(addr),
		client.WithRPCTimeout(10*time.Second),
		client.WithConnectTimeout(3*time.Second),
	)...)
	if err != nil {
		return nil, fmt.Errorf("push: kitex client %s: %w", addr, err)
	}
	return &Kitex{c: c}, nil
}

// Push makes the RPC matching t.Kind.
func (k *Kitex) Push(ctx context.Context, t Target, body []byte) error {
	var err error
	switch t.Kind {
	case Keys:
		_, err = k.c.PushKeys(ctx, &pushapi.PushKeysReq{Op: t.Op, Keys: t.Keys, Body: body})
	case Mids:
		_, err = k.c.PushMids(ctx, &pushapi.PushMidsReq{Op: t.Op, Mids: t.Mids, Body: body})
	case Room:
		typ, id, serr := SplitRoom(t.Room)
		if serr != nil {
			return serr
		}
		_, err = k.c.PushRoom(ctx, &pushapi.PushRoomReq{Op: t.Op, Type: typ, Room: id, Body: body})
	case All:
		_, err = k.c.PushAll(ctx, &pushapi.PushAllReq{Op: t.Op, Speed: t.Speed, Body: body})
	default:
		return fmt.Errorf("push: unknown kind %q", t.Kind)
	}
	if err != nil {
		var pe *pushapi.PushError
		if errors.As(err, &pe) {
			return fmt.Errorf("push: %s: code %d: %s", t.Kind, pe.Code, pe.Message)
		}
		return fmt.Errorf("push: %s: %w", t.Kind, err)
	}
	return nil
}

// Close is a no-op: Kitex clients hold pooled connections that close with
// the process.
func (k *Kitex) Close() error { return nil }
