package scenario

import (
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/report"
	"github.com/goim-edge/goim-edge/bench/worker"
)

// mergeResume sums the positioned devices' accounts of every worker (nil
// when no worker had positioned devices).
func mergeResume(results []*worker.Result) *report.Resume {
	var out *report.Resume
	lat := hist.New()
	var start, last int64
	for _, r := range results {
		w := r.Resume
		if w == nil {
			continue
		}
		if out == nil {
			out = &report.Resume{Verdicts: map[string]int{}, NotRecovered: map[string]int{}}
		}
		for k, v := range w.Verdicts {
			out.Verdicts[k] += v
		}
		for k, v := range w.NotRecovered {
			out.NotRecovered[k] += v
		}
		out.Messages += w.Messages
		out.Positioned += w.Positioned
		out.Reconnected += w.Reconnected
		out.Complete += w.Complete
		lat.Merge(w.Latency)
		if w.Start > 0 && (start == 0 || w.Start < start) {
			start = w.Start
		}
		last = max(last, w.LastComplete)
	}
	if out == nil {
		return nil
	}
	if lat.Count() > 0 {
		sum := lat.Summary()
		out.Latency = &sum
	}
	if start > 0 && last > start {
		out.AllSeconds = time.Duration(last - start).Seconds()
	}
	if len(out.Verdicts) == 0 {
		out.Verdicts = nil
	}
	if len(out.NotRecovered) == 0 {
		out.NotRecovered = nil
	}
	return out
}
