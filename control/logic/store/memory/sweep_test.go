package memory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// TestSweepFreesExpired: routes and reports nobody reads again are dropped
// by a later write, so a long-running standalone logic does not grow
// without bound.
func TestSweepFreesExpired(t *testing.T) {
	now := time.Unix(1000, 0)
	s := New()
	s.now = func() time.Time { return now }
	ctx := context.Background()
	for i := range 100 {
		if err := s.AddRoute(ctx, store.Route{Mid: int64(i % 10), Key: fmt.Sprint("k", i), Server: "e"}, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutOnline(ctx, store.Online{Server: "dead", ConnCount: 1}, time.Second); err != nil {
		t.Fatal(err)
	}
	now = now.Add(sweepEvery + time.Second)
	if err := s.AddRoute(ctx, store.Route{Mid: 1, Key: "fresh", Server: "e"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.keys) != 1 || len(s.mids) != 1 || len(s.edges) != 0 {
		t.Fatalf("after sweep: %d keys, %d mids, %d edges; want 1, 1, 0", len(s.keys), len(s.mids), len(s.edges))
	}
}

func BenchmarkAddRoute(b *testing.B) {
	s := New()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := s.AddRoute(ctx, store.Route{Mid: int64(i % 10000), Key: fmt.Sprint("key-", i%100000), Server: "edge-a"}, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServersByKeys(b *testing.B) {
	s := New()
	ctx := context.Background()
	keys := make([]string, 10)
	for i := range 100000 {
		k := fmt.Sprint("key-", i)
		if i < len(keys) {
			keys[i] = k
		}
		if err := s.AddRoute(ctx, store.Route{Mid: int64(i), Key: k, Server: "edge-a"}, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if m, err := s.ServersByKeys(ctx, keys); err != nil || len(m) != len(keys) {
				b.Fatal(len(m), err)
			}
		}
	})
}

func BenchmarkRoomCounts(b *testing.B) {
	s := New()
	ctx := context.Background()
	for e := range 20 {
		rooms := make(map[string]int32, 1000)
		for r := range 1000 {
			rooms[fmt.Sprint("live://", r)] = int32(r%7 + 1)
		}
		if err := s.PutOnline(ctx, store.Online{Server: fmt.Sprint("edge-", e), RoomCount: rooms}, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.RoomCounts(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
