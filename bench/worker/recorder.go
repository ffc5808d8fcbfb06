package worker

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/payload"
	"github.com/goim-edge/goim-edge/bench/tally"
)

// shardCount spreads the recorder's locks: every core may be recording
// an arrival at once, and one lock would serialise them. Collisions depend
// on how many record at the same instant (at most GOMAXPROCS), not on how
// many devices there are, so a few shards per core do: each shard's
// latency histogram is about 240 KiB, which at 32 shards was most of an
// idle worker's heap.
func shardCount() int { return min(max(4*runtime.GOMAXPROCS(0), 4), 32) }

// shard is one slice of the worker's accounting, chosen by device index.
type shard struct {
	mu       sync.Mutex
	hist     *hist.Histogram
	ledger   *tally.Ledger
	series   []int64
	received int64
}

// recorder turns arrivals into latency, deliveries and throughput.
type recorder struct {
	epoch int64
	step  int64
	sh    []shard

	duplicates atomic.Int64
	misrouted  atomic.Int64

	// dupMu guards dupSamples: the first duplicates, for debugging.
	dupMu      sync.Mutex
	dupSamples []Duplicate
	foreign    atomic.Int64
	malformed  atomic.Int64
}

func newRecorder(epoch int64, step time.Duration) *recorder {
	if step <= 0 {
		step = time.Second
	}
	r := &recorder{epoch: epoch, step: int64(step), sh: make([]shard, shardCount())}
	for i := range r.sh {
		r.sh[i].hist = hist.New()
		r.sh[i].ledger = tally.NewLedger()
	}
	return r
}

// maxDupSamples bounds how many duplicates are described individually.
const maxDupSamples = 20

// maxSeries caps the series at a day of one-second steps, so a corrupt
// timestamp cannot allocate without bound.
const maxSeries = 86400

// arrive accounts one push that reached device idx (whose seen-set is seen)
// at unix nanos at.
func (r *recorder) arrive(idx int, seen *tally.Seen, body []byte, at int64) {
	m, err := payload.Decode(body)
	if err != nil {
		if errors.Is(err, payload.ErrForeign) {
			r.foreign.Add(1)
		} else {
			r.malformed.Add(1)
		}
		return
	}
	s := &r.sh[idx%len(r.sh)]
	if !seen.Mark(m.ID) {
		r.duplicates.Add(1)
		r.dupMu.Lock()
		if len(r.dupSamples) < maxDupSamples {
			r.dupSamples = append(r.dupSamples, Duplicate{Device: idx, ID: m.ID, Sent: m.Sent, At: at})
		}
		r.dupMu.Unlock()
		s.mu.Lock()
		s.received++
		s.mu.Unlock()
		return
	}
	if m.Dest != payload.AnyDevice && m.Dest != uint32(idx) {
		r.misrouted.Add(1)
	}
	bucket := (at - r.epoch) / r.step
	s.mu.Lock()
	s.received++
	s.hist.Record(time.Duration(at - m.Sent))
	s.ledger.Add(m.ID, at)
	if bucket >= 0 && bucket < maxSeries {
		if int(bucket) >= len(s.series) {
			s.series = append(s.series, make([]int64, int(bucket)+1-len(s.series))...)
		}
		s.series[bucket]++
	}
	s.mu.Unlock()
}

// received sums the shards' arrival counts.
func (r *recorder) received() int64 {
	var n int64
	for i := range r.sh {
		s := &r.sh[i]
		s.mu.Lock()
		n += s.received
		s.mu.Unlock()
	}
	return n
}

// fill merges every shard into res.
func (r *recorder) fill(res *Result) {
	res.Latency = hist.New()
	res.Deliveries = tally.NewLedger()
	for i := range r.sh {
		s := &r.sh[i]
		s.mu.Lock()
		res.Received += s.received
		res.Latency.Merge(s.hist)
		res.Deliveries.Merge(s.ledger)
		for b, n := range s.series {
			if b >= len(res.Series) {
				res.Series = append(res.Series, make([]int64, b+1-len(res.Series))...)
			}
			res.Series[b] += n
		}
		s.mu.Unlock()
	}
	res.Duplicates = r.duplicates.Load()
	r.dupMu.Lock()
	res.DuplicateSamples = append([]Duplicate(nil), r.dupSamples...)
	r.dupMu.Unlock()
	res.Misrouted = r.misrouted.Load()
	res.Foreign = r.foreign.Load()
	res.Malformed = r.malformed.Load()
}
