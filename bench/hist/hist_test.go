package hist

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// within checks a histogram value against the exact one at 3 significant
// figures (0.1 %), plus one microsecond of unit rounding.
func within(t *testing.T, name string, got, want time.Duration) {
	t.Helper()
	tol := time.Duration(math.Max(float64(want)/1000, 0)) + time.Microsecond
	if got < want-tol || got > want+tol {
		t.Errorf("%s = %v, want %v ± %v", name, got, want, tol)
	}
}

func TestQuantiles(t *testing.T) {
	cases := []struct {
		name   string
		values func(record func(time.Duration))
		p50    time.Duration
		p99    time.Duration
		p999   time.Duration
		max    time.Duration
		count  int64
	}{
		{
			name: "uniform 1..10000 µs",
			values: func(r func(time.Duration)) {
				for i := 1; i <= 10000; i++ {
					r(time.Duration(i) * time.Microsecond)
				}
			},
			p50: 5000 * time.Microsecond, p99: 9900 * time.Microsecond, p999: 9990 * time.Microsecond,
			max: 10000 * time.Microsecond, count: 10000,
		},
		{
			name: "one slow outlier in 1000",
			values: func(r func(time.Duration)) {
				for range 999 {
					r(2 * time.Millisecond)
				}
				r(3 * time.Second)
			},
			p50: 2 * time.Millisecond, p99: 2 * time.Millisecond, p999: 2 * time.Millisecond,
			max: 3 * time.Second, count: 1000,
		},
		{
			name: "clamped below and above",
			values: func(r func(time.Duration)) {
				r(-time.Second)
				r(time.Hour)
			},
			p50: time.Microsecond, p99: 10 * time.Minute, p999: 10 * time.Minute, max: 10 * time.Minute, count: 2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := New()
			c.values(h.Record)
			if h.Count() != c.count {
				t.Fatalf("count = %d, want %d", h.Count(), c.count)
			}
			within(t, "p50", h.Quantile(0.5), c.p50)
			within(t, "p99", h.Quantile(0.99), c.p99)
			within(t, "p999", h.Quantile(0.999), c.p999)
			within(t, "max", h.Max(), c.max)
		})
	}
}

func TestEmpty(t *testing.T) {
	h := New()
	if s := h.Summary(); s != (Summary{}) {
		t.Fatalf("empty summary = %+v", s)
	}
}

func TestMergeEqualsRecordingTogether(t *testing.T) {
	a, b, all := New(), New(), New()
	for i := 1; i <= 5000; i++ {
		d := time.Duration(i*i) * time.Microsecond
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(b)
	if a.Summary() != all.Summary() {
		t.Fatalf("merged %+v, together %+v", a.Summary(), all.Summary())
	}
}

func TestJSONRoundTrip(t *testing.T) {
	h := New()
	for i := range 1000 {
		h.Record(time.Duration(i) * 37 * time.Microsecond)
	}
	b, err := json.Marshal(struct{ H *Histogram }{h})
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ H *Histogram }
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.H.Summary() != h.Summary() {
		t.Fatalf("round trip %+v, want %+v", back.H.Summary(), h.Summary())
	}
	if err := back.H.UnmarshalText([]byte("!!not base64")); err == nil {
		t.Fatal("garbage decoded")
	}
	if err := back.H.UnmarshalText([]byte("aGVsbG8=")); err == nil {
		t.Fatal("non-histogram decoded")
	}
}

func FuzzUnmarshalText(f *testing.F) {
	h := New()
	h.Record(3 * time.Millisecond)
	good, _ := h.MarshalText()
	f.Add(good)
	f.Add([]byte("aGVsbG8="))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got Histogram
		if err := got.UnmarshalText(in); err != nil {
			return
		}
		_ = got.Summary() // must not panic on anything that decoded
	})
}
