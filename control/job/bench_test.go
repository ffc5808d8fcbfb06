package job

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

// benchEdges starts n edges that only count what they receive.
func benchEdges(b *testing.B, n int, onPush func(string, []byte)) []*recEdge {
	var out []*recEdge
	for i := range n {
		e := startBenchEdge(b, fmt.Sprintf("edge-%d", i))
		e.onPush = onPush
		out = append(out, e)
	}
	return out
}

// startBenchEdge is startRecEdge for benchmarks.
func startBenchEdge(b *testing.B, node string) *recEdge {
	b.Helper()
	e := &recEdge{tb: b, node: node, members: map[string]int32{}, changed: make(chan struct{})}
	e.start("127.0.0.1:0")
	b.Cleanup(e.stop)
	return e
}

// BenchmarkFanOut measures job's fan-out throughput: messages handled per
// second (each acknowledged only after every edge accepted it), with many
// handler calls in flight as the queue's 32 workers make them.
//
//	go test -run '^$' -bench BenchmarkFanOut -benchtime 3s ./control/job/
func BenchmarkFanOut(b *testing.B) {
	for _, tc := range []struct {
		kind  common.PushKind
		edges int
	}{
		{common.PushKind_KEYS, 1},
		{common.PushKind_ROOM, 2},
		{common.PushKind_ROOM, 4},
		{common.PushKind_BROADCAST, 2},
	} {
		b.Run(fmt.Sprintf("%s/edges=%d", queue.KindLabel(tc.kind), tc.edges), func(b *testing.B) {
			var got atomic.Int64
			edges := benchEdges(b, tc.edges, func(string, []byte) { got.Add(1) })
			j := handlerJob(b, DefaultConfig(), edges...)
			var seq atomic.Int64
			b.SetParallelism(32) // 32 × GOMAXPROCS handler calls in flight
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					m := &common.PushMsg{Id: fmt.Sprint(n), Kind: tc.kind, Op: 1000, Body: []byte("0123456789abcdef")}
					switch tc.kind {
					case common.PushKind_KEYS:
						m.Server, m.Keys = "edge-0", []string{fmt.Sprint("dev", n%1000)}
					case common.PushKind_ROOM:
						m.Room = fmt.Sprint("live://", n%64)
					}
					if err := j.handle(context.Background(), &queue.Delivery{Msg: m, ID: m.Id, Attempt: 1}); err != nil {
						b.Error(err)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			want := int64(b.N) * int64(tc.edges)
			if tc.kind == common.PushKind_KEYS {
				want = int64(b.N)
			}
			if got.Load() != want {
				b.Errorf("edges received %d pushes, want %d", got.Load(), want)
			}
		})
	}
}

// BenchmarkKeysLatency measures the job leg of a keys push at a steady
// 1,000 pushes/s: from Publish on the memory queue to the edge's PushKeys
// handler (queue → job → Kitex RPC), reported as p50/p99/max.
//
//	go test -run '^$' -bench BenchmarkKeysLatency -benchtime 5000x ./control/job/
func BenchmarkKeysLatency(b *testing.B) {
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	done := make(chan struct{}, b.N)
	edges := benchEdges(b, 2, func(_ string, body []byte) {
		d := time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(body))))
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
		done <- struct{}{}
	})
	h := startJobTB(b, DefaultConfig(), edges...)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		body := binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano()))
		m := &common.PushMsg{Id: fmt.Sprint(i), Kind: common.PushKind_KEYS, Op: 1000,
			Server: fmt.Sprint("edge-", i%2), Keys: []string{fmt.Sprint("dev", i)}, Body: body}
		if err := h.q.Publish(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		<-done
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(.5), "p50-ms")
	b.ReportMetric(pct(.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
