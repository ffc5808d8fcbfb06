// Package hist records latencies in an HDR histogram (3 significant
// figures, 1 µs to 10 min) and moves them between worker processes.
package hist

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

const (
	lowest  = 1 // µs
	highest = int64(10 * time.Minute / time.Microsecond)
	figures = 3
)

// Histogram is a latency histogram in microseconds. It is not safe for
// concurrent use; the worker shards its recorders.
type Histogram struct {
	h *hdrhistogram.Histogram
}

// New returns an empty histogram.
func New() *Histogram {
	return &Histogram{h: hdrhistogram.New(lowest, highest, figures)}
}

// Record adds one latency. Values below 1 µs count as 1 µs (a push cannot
// arrive before it was sent; a negative value means clocks disagree) and
// values past the range count as the range's top, so nothing is lost.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d / time.Microsecond)
	if v < lowest {
		v = lowest
	}
	if v > highest {
		v = highest
	}
	_ = h.h.RecordValue(v) // in range by construction
}

// Merge adds o's counts into h.
func (h *Histogram) Merge(o *Histogram) {
	if o != nil {
		h.h.Merge(o.h)
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the value at q (0..1), 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.ValueAtQuantile(q*100)) * time.Microsecond
}

// Max is the largest recorded value (at histogram precision).
func (h *Histogram) Max() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Max()) * time.Microsecond
}

// Min is the smallest recorded value (at histogram precision).
func (h *Histogram) Min() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Min()) * time.Microsecond
}

// Mean is the average recorded value.
func (h *Histogram) Mean() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// Summary is what reports show of a histogram, in milliseconds.
type Summary struct {
	Count  int64   `json:"count"`
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Summary computes the report figures.
func (h *Histogram) Summary() Summary {
	return Summary{
		Count:  h.Count(),
		MinMs:  ms(h.Min()),
		MeanMs: ms(h.Mean()),
		P50Ms:  ms(h.Quantile(0.50)),
		P90Ms:  ms(h.Quantile(0.90)),
		P99Ms:  ms(h.Quantile(0.99)),
		P999Ms: ms(h.Quantile(0.999)),
		MaxMs:  ms(h.Max()),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MarshalText encodes the histogram in HdrHistogram's compressed V2 form,
// base64: the worker protocol carries it as a JSON string.
func (h *Histogram) MarshalText() ([]byte, error) {
	raw, err := h.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("hist: encode: %w", err)
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(out, raw)
	return out, nil
}

// UnmarshalText decodes what MarshalText wrote.
func (h *Histogram) UnmarshalText(b []byte) error {
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(raw, b)
	if err != nil {
		return fmt.Errorf("hist: base64: %w", err)
	}
	d, err := hdrhistogram.Decode(raw[:n])
	if err != nil {
		return fmt.Errorf("hist: decode: %w", err)
	}
	h.h = d
	return nil
}
