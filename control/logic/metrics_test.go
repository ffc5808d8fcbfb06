package logic

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

func TestMetricsCount(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, logictest.MemoryStore(t), nil)
	pushes := value(t, pushesTotal.WithLabelValues("room"))
	bad := value(t, pushErrorsTotal.WithLabelValues("room", "-400"))
	enq := value(t, enqueuedTotal.WithLabelValues("room"))
	ok := value(t, connectsTotal.WithLabelValues("ok"))
	refusedN := value(t, connectsTotal.WithLabelValues("refused"))

	if _, err := h.l.EnqueueRoom(ctx, 1000, "live", "1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	_, _ = h.l.EnqueueRoom(ctx, 0, "live", "1", []byte("x"))
	if _, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "e", Token: []byte(`{"mid":1}`)}); err != nil {
		t.Fatal(err)
	}
	_, _ = h.l.Connect(ctx, &logic.ConnectReq{Server: "e", Token: []byte(`nope`)})

	for name, d := range map[string]float64{
		"pushes{room}":           value(t, pushesTotal.WithLabelValues("room")) - pushes,
		"push_errors{room,-400}": value(t, pushErrorsTotal.WithLabelValues("room", "-400")) - bad,
		"enqueued{room}":         value(t, enqueuedTotal.WithLabelValues("room")) - enq,
		"connects{ok}":           value(t, connectsTotal.WithLabelValues("ok")) - ok,
		"connects{refused}":      value(t, connectsTotal.WithLabelValues("refused")) - refusedN,
	} {
		if d != 1 {
			t.Errorf("%s went up by %v, want 1", name, d)
		}
	}
}

// value reads one counter.
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
