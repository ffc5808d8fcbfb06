package job_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/goim-edge/goim-edge/tracing"
)

// One push is one trace: the caller's traceparent is the parent of
// logic's push span, and the trace continues through the queue message,
// job's delivery and edge call, to the edge's handler, each span naming
// the message id. (Tracing is process-wide: this test installs it for
// the rest of the package's tests, which then run with it on.)
func TestTracePushAcrossHops(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	c := startCluster(t, onRedis, "edge-1", "edge-2")
	d := connect(t, c.edges[1].Addrs().TCP, "traced", 42, "")

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req, _ := http.NewRequest(http.MethodPost, c.httpURL+"/goim/push/mids?"+url.Values{"operation": {"1000"}, "mids": {"42"}}.Encode(), strings.NewReader("traced"))
	req.Header.Set("traceparent", parent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d.expect(1000, "traced")

	want := []string{"goim.push mids", "goim.enqueue", "goim.deliver", "goim.edge_call", "goim.edge.push_keys"}
	var spans tracetest.SpanStubs
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans = inTrace(exp.GetSpans(), "4bf92f3577b34da6a3ce929d0e0e4736")
		if hasAll(spans, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !hasAll(spans, want) {
		t.Fatalf("spans in the caller's trace: %v, want %v", names(spans), want)
	}
	var msgID string
	for _, s := range spans {
		for _, a := range s.Attributes {
			if a.Key == tracing.MsgID && s.Name == "goim.enqueue" {
				msgID = a.Value.AsString()
			}
		}
	}
	for _, s := range spans {
		if s.Name == "goim.push mids" {
			if s.Parent.SpanID().String() != "00f067aa0ba902b7" {
				t.Errorf("push span's parent %s, want the caller's span", s.Parent.SpanID())
			}
			continue
		}
		if !hasAttr(s, tracing.MsgID, msgID) {
			t.Errorf("span %s does not name message %s: %v", s.Name, msgID, s.Attributes)
		}
		if s.Parent.TraceID() != s.SpanContext.TraceID() || !s.Parent.IsValid() {
			t.Errorf("span %s has no parent in the trace", s.Name)
		}
	}
}

func inTrace(spans tracetest.SpanStubs, id string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range spans {
		if s.SpanContext.TraceID().String() == id {
			out = append(out, s)
		}
	}
	return out
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func hasAll(spans tracetest.SpanStubs, want []string) bool {
	got := map[string]bool{}
	for _, s := range spans {
		got[s.Name] = true
	}
	for _, w := range want {
		if !got[w] {
			return false
		}
	}
	return true
}

func hasAttr(s tracetest.SpanStub, key attribute.Key, v string) bool {
	for _, a := range s.Attributes {
		if a.Key == key && a.Value.AsString() == v {
			return true
		}
	}
	return false
}
