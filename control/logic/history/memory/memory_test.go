package memory_test

import (
	"context"
	"testing"
	"time"

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
