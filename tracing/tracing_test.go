package tracing

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		ratio float64
		ok    bool
	}{{0, true}, {0.5, true}, {1, true}, {-0.1, false}, {1.5, false}} {
		if err := (Config{SampleRatio: tt.ratio}).Validate(); (err == nil) != tt.ok {
			t.Errorf("ratio %v: err %v", tt.ratio, err)
		}
	}
}

// Off, then on, in one test: installing a provider is process-wide, so
// the order is part of what is tested.
func TestOffThenOn(t *testing.T) {
	// Off (the default config): Start installs nothing, and a message
	// carries no trace field.
	stop, err := Start(context.Background(), DefaultConfig(), "goim-edge-test", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if On() {
		t.Fatal("tracing on after Start with the default config")
	}
	ctx, span := StartSpan(context.Background(), "x", trace.SpanKindInternal)
	if m := Inject(ctx); m != nil {
		t.Fatalf("Inject with tracing off = %v, want nil", m)
	}
	span.End()

	// On: the context crosses a message map and continues the trace.
	exp := tracetest.NewInMemoryExporter()
	Install(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	ctx, span = StartSpan(context.Background(), "producer", trace.SpanKindProducer, MsgID.String("m1"))
	m := Inject(ctx)
	span.End()
	if m["traceparent"] == "" {
		t.Fatalf("Inject = %v, want a traceparent", m)
	}
	_, child := StartSpan(Extract(context.Background(), m), "consumer", trace.SpanKindConsumer)
	End(child, nil)
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[1].Parent.SpanID() != spans[0].SpanContext.SpanID() || spans[1].SpanContext.TraceID() != spans[0].SpanContext.TraceID() {
		t.Fatalf("spans %+v: want the consumer a child of the producer", spans)
	}
}

// BenchmarkPushSpans is the cost tracing adds to one push's hop: a span
// started and ended and its context put in a message. "off" is the
// default (what every push pays when tracing is not turned on: the
// callers check On first, as here); "on" records into a provider that
// exports nothing.
func BenchmarkPushSpans(b *testing.B) {
	hop := func() {
		if !On() {
			return
		}
		ctx, span := StartSpan(context.Background(), "goim.enqueue", trace.SpanKindProducer, MsgID.String("0195a3c2-7d1e-7b7a-9c1e-3f1f0a2b3c4d"))
		_ = Inject(ctx)
		End(span, nil)
	}
	b.Run("off", func(b *testing.B) {
		on.Store(false)
		b.ReportAllocs()
		for b.Loop() {
			hop()
		}
	})
	b.Run("on", func(b *testing.B) {
		Install(sdktrace.NewTracerProvider())
		b.ReportAllocs()
		for b.Loop() {
			hop()
		}
	})
}
