// Package tracing follows one push from the API call that accepted it,
// through the queue, job's calls to edges and the edge's fan-out, as one
// OpenTelemetry trace (docs/tracing.md).
//
// It is off by default, and off costs next to nothing: no tracer provider
// is installed, so spans are OpenTelemetry's no-op ones (no allocation),
// and nothing is written into queue messages or RPC headers. Start turns
// it on for the process, with an OTLP/HTTP exporter configured by the
// standard OTEL_* environment variables (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, ...).
//
// The trace context crosses each hop in the W3C traceparent/tracestate
// form: HTTP headers on the push API, a map in the queue message
// (common.PushMsg.trace), TTHeader string headers on Kitex calls.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Config is the [trace] section.
type Config struct {
	// Enabled installs a tracer provider exporting over OTLP/HTTP.
	Enabled bool `toml:"enabled"`
	// SampleRatio is the share of new traces kept (0..1); a call that
	// arrives with a sampled parent is always kept.
	SampleRatio float64 `toml:"sample_ratio"`
}

// DefaultConfig is off; when enabled, every trace is kept.
func DefaultConfig() Config { return Config{SampleRatio: 1} }

// Validate reports a ratio outside 0..1.
func (c Config) Validate() error {
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		return fmt.Errorf("trace: sample_ratio %v must be between 0 and 1", c.SampleRatio)
	}
	return nil
}

// Start installs the process's tracer provider and the W3C propagator
// when cfg is enabled (service names the role, e.g. "goim-edge-logic",
// unless OTEL_SERVICE_NAME says otherwise); the returned function flushes
// and stops it. Disabled, it changes nothing and returns a no-op.
func Start(ctx context.Context, cfg Config, service, version string) (func(context.Context) error, error) {
	if !cfg.Enabled {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("trace: otlp exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(service), semconv.ServiceVersion(version)))
	if err != nil {
		return nil, fmt.Errorf("trace: resource: %w", err)
	}
	// Environment attributes (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES)
	// win over the defaults above.
	if env, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, env); err == nil {
			res = merged
		}
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	Install(tp)
	return func(ctx context.Context) error {
		return errors.Join(tp.ForceFlush(ctx), tp.Shutdown(ctx))
	}, nil
}

// Install makes tp the process's tracer provider, with the W3C trace
// context propagator. Start calls it; tests pass a provider with an
// in-memory exporter.
func Install(tp trace.TracerProvider) {
	on.Store(true)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
}

// on is set once a provider is installed: hot paths skip building spans
// and attributes altogether until then.
var on atomic.Bool

// On reports whether tracing was turned on in this process.
func On() bool { return on.Load() }

// instrumentation names the spans' source.
const instrumentation = "github.com/goim-edge/goim-edge"

// Attribute keys on push spans.
const (
	// MsgID is the queue message id (common.PushMsg.id).
	MsgID = attribute.Key("goim.msg_id")
	// Kind is the push kind: keys, mids, room, all.
	Kind = attribute.Key("goim.push_kind")
	// Node is the edge a call went to or a span ran on.
	Node = attribute.Key("goim.node")
	// Count is what a step reached: messages queued, connections, members.
	Count = attribute.Key("goim.count")
)

// StartSpan starts a span named name as a child of ctx's span. Callers
// on hot paths check On first, so that tracing off does not even build
// the attributes.
func StartSpan(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return otel.Tracer(instrumentation).Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// Tracer is the process's tracer, for spans StartSpan cannot describe
// (links).
func Tracer() trace.Tracer { return otel.Tracer(instrumentation) }

// End records err on span (when not nil) and ends it.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Inject returns ctx's trace context as a map for a queue message, or
// nil when there is none to carry (tracing off, or no span): then the
// message's field stays unset and costs nothing on the wire.
func Inject(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	m := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, m)
	if len(m) == 0 {
		return nil
	}
	return m
}

// Extract is ctx with the trace context of a queue message's map as the
// remote parent (ctx unchanged when m is empty).
func Extract(ctx context.Context, m map[string]string) context.Context {
	if len(m) == 0 {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(m))
}
