package tracing

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"
	"go.opentelemetry.io/otel"
)

// HertzMiddleware makes an incoming traceparent header (an app backend
// that traces its own calls) the parent of the push's spans. Without the
// header, or with tracing off, the request's context is left as it is.
func HertzMiddleware() app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		if len(c.Request.Header.Peek("traceparent")) > 0 {
			ctx = otel.GetTextMapPropagator().Extract(ctx, headerCarrier{c})
		}
		c.Next(ctx)
	}
}

// headerCarrier reads a Hertz request's headers for the propagator.
type headerCarrier struct{ c *app.RequestContext }

func (h headerCarrier) Get(key string) string { return string(h.c.Request.Header.Peek(key)) }

func (h headerCarrier) Set(key, value string) { h.c.Request.Header.Set(key, value) }

func (h headerCarrier) Keys() []string {
	var keys []string
	h.c.Request.Header.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}
