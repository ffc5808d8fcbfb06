package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"

	"github.com/goim-edge/goim-edge/bench/hist"
)

// Chart geometry: two panels side by side, throughput over time on the
// left, latency percentiles as bars on the right.
const (
	svgW, svgH      = 760, 320
	plotTop, plotH  = 50, 210
	lineX0, lineW   = 60, 380
	barsX0, barsW   = 500, 240
	axisLabelOffset = 18
)

// Drawable reports whether r has anything to chart.
func Drawable(r *Result) bool {
	_, bars := barSource(r)
	return bars != nil || (r.Throughput != nil && len(r.Throughput.PerSecond) > 0)
}

// barSource picks the latency the chart shows: push-to-device when there
// is one, else the time to reach everyone, else connect latency.
func barSource(r *Result) (string, *hist.Summary) {
	switch {
	case r.Latency != nil && r.Latency.Count > 0:
		return "push → device latency", r.Latency
	case r.Reach != nil && r.Reach.Count > 0:
		return "time to reach all", r.Reach
	case r.Connections != nil && r.Connections.Latency.Count > 0:
		return "connect + auth latency", &r.Connections.Latency
	}
	return "", nil
}

// SVG draws r's chart as a standalone SVG document.
func SVG(r *Result) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	text(&b, 20, 24, "start", 14, r.Label)
	throughputPanel(&b, r.Throughput)
	name, s := barSource(r)
	latencyPanel(&b, name, s)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func text(b *bytes.Buffer, x, y float64, anchor string, size int, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d">`, x, y, anchor, size)
	_ = xml.EscapeText(b, []byte(s))
	b.WriteString("</text>\n")
}

func axes(b *bytes.Buffer, x0, w float64) {
	fmt.Fprintf(b, `<path d="M%.1f %d V%d H%.1f" fill="none" stroke="#444"/>`+"\n", x0, plotTop, plotTop+plotH, x0+w)
}

func throughputPanel(b *bytes.Buffer, s *Series) {
	text(b, lineX0, plotTop-10, "start", 12, "delivered messages/s")
	axes(b, lineX0, lineW)
	if s == nil || len(s.PerSecond) == 0 {
		text(b, lineX0+lineW/2, plotTop+plotH/2, "middle", 11, "no deliveries")
		return
	}
	top := niceCeil(max(s.Peak, s.Offered))
	n := len(s.PerSecond)
	span := float64(n) * s.StepSeconds
	fmt.Fprintf(b, `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="`)
	for i, v := range s.PerSecond {
		x := lineX0 + lineW*(float64(i)+0.5)/float64(n)
		y := plotTop + plotH - plotH*v/top
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(b, "%.1f,%.1f", x, y)
	}
	b.WriteString(`"/>` + "\n")
	if s.Offered > 0 {
		y := plotTop + plotH - plotH*s.Offered/top
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d62728" stroke-dasharray="4 3"/>`+"\n", lineX0, y, lineX0+lineW, y)
		text(b, lineX0+lineW-2, y-4, "end", 10, "offered "+human(s.Offered)+"/s")
	}
	for _, f := range []float64{0, 0.5, 1} {
		y := plotTop + plotH - plotH*f
		text(b, lineX0-4, y+4, "end", 10, human(top*f))
	}
	text(b, lineX0, plotTop+plotH+axisLabelOffset, "start", 10, "0 s")
	text(b, lineX0+lineW, plotTop+plotH+axisLabelOffset, "end", 10, fmt.Sprintf("%.3g s", span))
	text(b, lineX0+lineW/2, plotTop+plotH+axisLabelOffset+14, "middle", 10, fmt.Sprintf("peak %s/s, mean %s/s", human(s.Peak), human(s.Mean)))
}

func latencyPanel(b *bytes.Buffer, name string, s *hist.Summary) {
	if s == nil {
		text(b, barsX0, plotTop-10, "start", 12, "latency")
		axes(b, barsX0, barsW)
		text(b, barsX0+barsW/2, plotTop+plotH/2, "middle", 11, "no samples")
		return
	}
	text(b, barsX0, plotTop-10, "start", 12, name)
	axes(b, barsX0, barsW)
	bars := []struct {
		label string
		v     float64
	}{{"p50", s.P50Ms}, {"p90", s.P90Ms}, {"p99", s.P99Ms}, {"p99.9", s.P999Ms}, {"max", s.MaxMs}}
	top := niceCeil(s.MaxMs)
	slot := barsW / float64(len(bars))
	for i, bar := range bars {
		h := plotH * bar.v / top
		x := barsX0 + slot*float64(i) + slot*0.15
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#ff7f0e"/>`+"\n", x, plotTop+plotH-h, slot*0.7, h)
		text(b, x+slot*0.35, plotTop+plotH-h-4, "middle", 10, Millis(bar.v))
		text(b, x+slot*0.35, plotTop+plotH+axisLabelOffset, "middle", 10, bar.label)
	}
	text(b, barsX0+barsW/2, plotTop+plotH+axisLabelOffset+14, "middle", 10, fmt.Sprintf("%s samples", human(float64(s.Count))))
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so axis tops are
// readable; it is never below a small positive number.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// human formats a count with k/M suffixes.
func human(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// Millis formats a latency given in milliseconds with its unit, switching
// to seconds past one second so large values stay readable.
func Millis(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%.3g s", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	default:
		return fmt.Sprintf("%.3g ms", ms)
	}
}
