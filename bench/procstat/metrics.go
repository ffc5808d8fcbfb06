package procstat

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// HeapInuse is the Go runtime metric the idle scenario divides by the
// connection count: bytes in in-use heap spans, what live objects cost.
const HeapInuse = "go_memstats_heap_inuse_bytes"

// LastGC is when the process last collected garbage (unix seconds): a heap
// figure read after it holds little garbage.
const LastGC = "go_memstats_last_gc_time_seconds"

// Scrape fetches a Prometheus text endpoint and returns the unlabelled
// gauge and counter values it holds, by metric name (labelled series are
// summed, which is what a per-process total wants).
func Scrape(ctx context.Context, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("procstat: metrics %s: %w", url, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("procstat: metrics %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("procstat: metrics %s: HTTP %d", url, resp.StatusCode)
	}
	return Parse(resp.Body)
}

// Parse reads the Prometheus text format.
func Parse(r io.Reader) (map[string]float64, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("procstat: parse metrics: %w", err)
	}
	out := make(map[string]float64, len(fams))
	for name, f := range fams {
		var sum float64
		for _, m := range f.GetMetric() {
			switch {
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Untyped != nil:
				sum += m.GetUntyped().GetValue()
			default:
				continue
			}
		}
		out[name] = sum
	}
	return out, nil
}
