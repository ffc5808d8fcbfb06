package memory

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// BenchmarkRouteFootprint reports the live heap one route costs (one key
// per mid, as most devices connect), the store's share of what an idle
// connection costs a standalone server. Keys are made before the first
// sample: they are shared with the edge, not the store's own.
//
//	go test -run '^$' -bench RouteFootprint -benchtime 1x ./control/logic/store/memory/
func BenchmarkRouteFootprint(b *testing.B) {
	const n = 15000 // the standalone idle benchmark's devices
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	ctx := context.Background()
	for range b.N {
		s := New()
		before := liveHeap()
		for i, k := range keys {
			if err := s.AddRoute(ctx, store.Route{Mid: int64(i), Key: k, Server: "edge-a"}, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		after := liveHeap()
		b.ReportMetric(float64(after-before)/n, "heap-B/route")
		runtime.KeepAlive(s)
	}
	runtime.KeepAlive(keys)
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
