package tracing

import (
	"context"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/server"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Kitex calls carry the trace context in TTHeader string headers
// (traceparent, tracestate), which every goim-edge client already uses
// for its secret (rpcauth). A call without a span writes nothing.

// KitexClientOptions write the caller's trace context into each request.
func KitexClientOptions() []client.Option {
	return []client.Option{client.WithMetaHandler(clientMeta)}
}

// KitexServerOptions read it back into the handler's context, as the
// remote parent of the handler's spans.
func KitexServerOptions() []server.Option {
	return []server.Option{server.WithMetaHandler(serverMeta)}
}

var clientMeta = remote.NewCustomMetaHandler(remote.WithWriteMeta(
	func(ctx context.Context, msg remote.Message) (context.Context, error) {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return ctx, nil
		}
		ti := msg.TransInfo()
		m := ti.TransStrInfo()
		if m == nil {
			m = map[string]string{}
			ti.PutTransStrInfo(m)
		}
		otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(m))
		return ctx, nil
	}))

var serverMeta = remote.NewCustomMetaHandler(remote.WithReadMeta(
	func(ctx context.Context, msg remote.Message) (context.Context, error) {
		ti := msg.TransInfo()
		if ti == nil {
			return ctx, nil
		}
		m := ti.TransStrInfo()
		if _, ok := m["traceparent"]; !ok {
			return ctx, nil
		}
		return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(m)), nil
	}))
