package edge

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/goim-edge/goim-edge/tracing"
)

// traceRPC starts the span of one push RPC on this edge (a child of job's
// edge call, whose context the Kitex headers carried); end records how
// many connections (keys, broadcast) or members (room) it reached. With
// tracing off both cost a flag check.
func (h *Handler) traceRPC(ctx context.Context, name, msgID string) func(reached int, err error) {
	if !tracing.On() {
		return func(int, error) {}
	}
	_, span := tracing.StartSpan(ctx, name, trace.SpanKindServer,
		tracing.MsgID.String(msgID), tracing.Node.String(h.srv.cfg.Node))
	return func(reached int, err error) {
		span.SetAttributes(tracing.Count.Int(reached))
		tracing.End(span, err)
	}
}
