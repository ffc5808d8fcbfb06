package worker

import (
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/bench/payload"
	"github.com/goim-edge/goim-edge/bench/tally"
)

// BenchmarkArrive is the per-message cost of the accounting on a device's
// reader: decode, duplicate check, latency, deliveries and series.
func BenchmarkArrive(b *testing.B) {
	now := time.Now().UnixNano()
	r := newRecorder(now, time.Second)
	seen := make([]tally.Seen, 64)
	bodies := make([][]byte, 1024)
	for i := range bodies {
		bodies[i] = payload.Append(nil, payload.Message{ID: uint64(i), Sent: now, Dest: payload.AnyDevice}, 64)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dev := i % 64
		r.arrive(dev, &seen[dev], bodies[(i/64)%len(bodies)], now+int64(i))
		i++
	}
}

func TestRecorderSeries(t *testing.T) {
	epoch := time.Now().UnixNano()
	r := newRecorder(epoch, 100*time.Millisecond)
	var seen tally.Seen
	body := func(id uint64) []byte {
		return payload.Append(nil, payload.Message{ID: id, Sent: epoch, Dest: payload.AnyDevice}, 0)
	}
	r.arrive(0, &seen, body(0), epoch+50*int64(time.Millisecond))  // step 0
	r.arrive(0, &seen, body(1), epoch+250*int64(time.Millisecond)) // step 2
	r.arrive(0, &seen, body(1), epoch+260*int64(time.Millisecond)) // duplicate: not in the series
	r.arrive(0, &seen, body(2), epoch-int64(time.Second))          // before the epoch: not in the series
	var res Result
	r.fill(&res)
	if len(res.Series) != 3 || res.Series[0] != 1 || res.Series[1] != 0 || res.Series[2] != 1 {
		t.Fatalf("series %v", res.Series)
	}
	if res.Received != 4 || res.Duplicates != 1 || len(res.DuplicateSamples) != 1 || res.DuplicateSamples[0].ID != 1 {
		t.Fatalf("result %+v", res)
	}
}
