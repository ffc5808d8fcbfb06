package rpcauth

import (
	"context"

	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"
)

// ServerOptions guard a Kitex server: the payload limit always, and with
// cfg.Secret the secret check on every call. serverName labels the
// payload counter (goim-edge uses its registry names, goim.edge and
// goim.logic). Give these options before any other middleware, so a
// refused call reaches none of them. cfg should have passed Validate; a
// MaxPayloadBytes <= 0 falls back to DefaultMaxPayloadBytes.
func ServerOptions(cfg Config, serverName string) []server.Option {
	limit := cfg.MaxPayloadBytes
	if limit <= 0 {
		limit = DefaultMaxPayloadBytes
	}
	opts := []server.Option{server.WithCodec(newLimitCodec(limit, serverName))}
	if cfg.Required() {
		g := newGuard(cfg)
		opts = append(opts,
			server.WithMetaHandler(serverHandler),
			server.WithMiddleware(g.middleware))
	}
	return opts
}

// presentedKey is the context key of the secret a call presented.
type presentedKey struct{}

// serverHandler copies the secret header of each request into its
// context for the middleware; it never enters the context's metainfo, so
// it is not forwarded to services the handler calls.
var serverHandler = remote.NewCustomMetaHandler(remote.WithReadMeta(
	func(ctx context.Context, msg remote.Message) (context.Context, error) {
		ti := msg.TransInfo()
		if ti == nil {
			return ctx, nil
		}
		if v, ok := ti.TransStrInfo()[HeaderKey]; ok && v != "" {
			ctx = context.WithValue(ctx, presentedKey{}, v)
		}
		return ctx, nil
	}))

// guard is the server side of one configuration: the accepted digests.
type guard struct {
	keys *keys
}

func newGuard(cfg Config) *guard {
	return &guard{keys: newKeys(cfg.Secret, cfg.PreviousSecrets)}
}

// middleware refuses a call whose presented secret is not accepted,
// counting it, before the rest of the chain runs.
func (g *guard) middleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		if err := g.check(ctx); err != nil {
			return err
		}
		return next(ctx, req, resp)
	}
}

// check returns nil when ctx carries an accepted secret, else a counted
// *RefusedError.
func (g *guard) check(ctx context.Context) error {
	presented, _ := ctx.Value(presentedKey{}).(string)
	reason := g.keys.check(presented)
	if reason == "" {
		return nil
	}
	svc := "unknown"
	if ri := rpcinfo.GetRPCInfo(ctx); ri != nil && ri.Invocation() != nil && ri.Invocation().ServiceName() != "" {
		svc = ri.Invocation().ServiceName()
	}
	authRefusedTotal.WithLabelValues(svc, reason).Inc()
	return &RefusedError{Service: svc, Reason: reason}
}
