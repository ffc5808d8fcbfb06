package logic

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/tracing"
)

// tracePush starts the span of one accepted push call (the trace's root,
// or a child of the caller's traceparent); end records the outcome. With
// tracing off both cost a flag check.
func tracePush(ctx context.Context, kind string) (context.Context, func(ids []string, err error)) {
	if !tracing.On() {
		return ctx, func([]string, error) {}
	}
	ctx, span := tracing.StartSpan(ctx, "goim.push "+kind, trace.SpanKindServer, tracing.Kind.String(kind))
	return ctx, func(ids []string, err error) {
		span.SetAttributes(tracing.Count.Int(len(ids)))
		if len(ids) == 1 {
			span.SetAttributes(tracing.MsgID.String(ids[0]))
		}
		tracing.End(span, err)
	}
}

// traceEnqueue starts the producer span of one queue message and puts
// its context in the message, for job to continue the trace.
func traceEnqueue(ctx context.Context, msg *common.PushMsg) (context.Context, trace.Span) {
	if !tracing.On() {
		return ctx, nil
	}
	ctx, span := tracing.StartSpan(ctx, "goim.enqueue", trace.SpanKindProducer,
		tracing.MsgID.String(msg.Id), tracing.Kind.String(queue.KindLabel(msg.Kind)))
	msg.Trace = tracing.Inject(ctx)
	return ctx, span
}
