package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/control/logic/history/historytest"
	"github.com/goim-edge/goim-edge/control/logic/history/memory"
)

func TestStore(t *testing.T) {
	historytest.Run(t, func(t *testing.T, clock history.Clock) history.Store {
		s := memory.New(clock)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestSweep: Sweep drops the streams idle for their ttl, so idle targets
// cost no memory.
func TestSweep(t *testing.T) {
	clock := historytest.NewFakeClock()
	s := memory.New(clock.Now)
	defer s.Close()
	lim := history.Limits{Size: 10, TTL: time.Minute}
	for _, st := range []string{"user:1", "user:2"} {
		if _, err := s.Append(context.Background(), []history.Target{{Stream: st, Limits: lim}}, history.Message{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(30 * time.Second)
	if _, err := s.Append(context.Background(), []history.Target{{Stream: "user:2", Limits: lim}}, history.Message{Body: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	clock.Add(40 * time.Second)
	if n := s.Sweep(); n != 1 {
		t.Fatalf("Sweep dropped %d streams, want 1 (user:1)", n)
	}
	if n := s.Streams(); n != 1 {
		t.Fatalf("%d streams left, want 1", n)
	}
}

func BenchmarkAppend(b *testing.B) {
	s := memory.New(nil)
	defer s.Close()
	t := []history.Target{{Stream: "room:live://1", Limits: history.Limits{Size: 100, TTL: time.Hour}}}
	m := history.Message{ID: "0123456789abcdef0123456789abcdef", Op: 1000, Body: make([]byte, 64)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(ctx, t, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// TestMemoryGauges: the memory gauges follow what the store holds, up on
// append, down on trim and when streams go.
func TestMemoryGauges(t *testing.T) {
	clock := historytest.NewFakeClock()
	s := memory.New(clock.Now)
	defer s.Close()
	base, baseKept := gauge(t, history.MemoryBytes), gauge(t, history.KeptBytes)
	lim := history.Limits{Size: 2, TTL: time.Minute}
	m := history.Message{ID: "id", Body: make([]byte, 1000)}
	steps := []struct {
		name    string
		do      func()
		kept    float64 // id and body bytes above the start
		atLeast float64 // the estimate is at least kept plus this
	}{
		{"one message", func() { appendTo(t, s, "user:1", lim, m) }, 1002, 1},
		{"two streams", func() { appendTo(t, s, "user:2", lim, m) }, 2004, 2},
		{"trimmed to size", func() {
			for i := 0; i < 3; i++ {
				appendTo(t, s, "user:1", lim, m)
			}
		}, 3006, 3},
		{"expired", func() { clock.Add(2 * time.Minute); s.Sweep() }, 0, 0},
	}
	for _, st := range steps {
		st.do()
		kept := gauge(t, history.KeptBytes) - baseKept
		est := gauge(t, history.MemoryBytes) - base
		if kept != st.kept {
			t.Errorf("%s: kept bytes +%v, want +%v", st.name, kept, st.kept)
		}
		if st.kept == 0 && est != 0 {
			t.Errorf("%s: estimate +%v, want back at the start", st.name, est)
		}
		if st.kept > 0 && est < st.kept+st.atLeast {
			t.Errorf("%s: estimate +%v, want more than the kept +%v", st.name, est, st.kept)
		}
	}
}

func appendTo(t *testing.T, s *memory.Store, stream string, lim history.Limits, m history.Message) {
	t.Helper()
	if _, err := s.Append(context.Background(), []history.Target{{Stream: stream, Limits: lim}}, m); err != nil {
		t.Fatal(err)
	}
}

// gauge reads a gauge (prometheus/testutil would pull in a module this
// build does not carry).
func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// BenchmarkTail is a resume's read: the newest 100 of 1000 kept messages
// after a position 900 behind.
//
//	go test -run '^$' -bench Tail ./control/logic/history/memory/
func BenchmarkTail(b *testing.B) {
	s := memory.New(nil)
	defer s.Close()
	t := []history.Target{{Stream: "room:live://1", Limits: history.Limits{Size: 1000, TTL: time.Hour}}}
	m := history.Message{ID: "0123456789abcdef0123456789abcdef", Op: 1000, Body: make([]byte, 64)}
	ctx := context.Background()
	var last history.Pos
	for i := 0; i < 1000; i++ {
		pos, err := s.Append(ctx, t, m)
		if err != nil {
			b.Fatal(err)
		}
		last = pos[0]
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := s.Tail(ctx, t[0].Stream, last.Epoch, 100, 100)
		if err != nil || !r.Cut || len(r.Messages) != 100 {
			b.Fatal(r.Cut, len(r.Messages), err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}
