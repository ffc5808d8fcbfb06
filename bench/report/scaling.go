package report

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// ScalePoint is one cluster size's figures, gathered from the results run
// at that many edges (Params["edges"]): memory from the idle run, job CPU
// and latency from the room fan-out run. A figure no run measured is 0.
type ScalePoint struct {
	Edges   int
	Devices int
	// EdgeRSS is the mean resident memory of one edge (PSS when known);
	// TotalRSS that of every server process (backends included), both
	// after the idle run.
	EdgeRSS, TotalRSS float64
	// JobCPUPerDelivery is job CPU-seconds per delivered message in the
	// room fan-out; FanoutP99Ms its push → device p99.
	JobCPUPerDelivery float64
	FanoutP99Ms       float64
}

// Scaling gathers the cluster-size curve from r's results: one point per
// distinct "edges" parameter, in ascending order. Fewer than two sizes is
// no curve (nil).
func Scaling(r *Report) []ScalePoint {
	by := map[int]*ScalePoint{}
	for i := range r.Results {
		res := &r.Results[i]
		n, err := strconv.Atoi(res.Params["edges"])
		if err != nil || n <= 0 || res.Cost == nil {
			continue
		}
		p := by[n]
		if p == nil {
			p = &ScalePoint{Edges: n}
			by[n] = p
		}
		switch res.Scenario {
		case "idle":
			if e := res.Cost.Role("edge"); e != nil && e.Processes > 0 {
				mem := e.RSS
				if e.PSS > 0 {
					mem = e.PSS
				}
				p.EdgeRSS = float64(mem) / float64(e.Processes)
			}
			m, _ := res.Cost.ServerMemory()
			p.TotalRSS = float64(m)
			p.Devices = res.Cost.Devices
		case "room-fanout":
			if j := res.Cost.Role("job"); j != nil && res.Cost.Delivered > 0 {
				p.JobCPUPerDelivery = j.CPUSeconds / float64(res.Cost.Delivered)
			}
			if res.Latency != nil {
				p.FanoutP99Ms = res.Latency.P99Ms
			}
		}
	}
	if len(by) < 2 {
		return nil
	}
	out := make([]ScalePoint, 0, len(by))
	for _, p := range by {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Edges < out[j].Edges })
	return out
}

// ScalingChart is the file name of the scaling chart.
const ScalingChart = "scaling.svg"

// scalingPanel is one curve of the scaling chart.
type scalingPanel struct {
	title  string
	value  func(ScalePoint) float64
	format func(float64) string
}

var scalingPanels = []scalingPanel{
	{"memory per edge (PSS, idle)", func(p ScalePoint) float64 { return p.EdgeRSS }, func(v float64) string { return bytesHuman(v) }},
	{"whole server side (PSS, idle)", func(p ScalePoint) float64 { return p.TotalRSS }, func(v float64) string { return bytesHuman(v) }},
	{"job CPU per delivery (room fan-out)", func(p ScalePoint) float64 { return p.JobCPUPerDelivery }, micros},
	{"room fan-out p99", func(p ScalePoint) float64 { return p.FanoutP99Ms }, Millis},
}

// ScalingSVG draws the four curves against the number of edges (log₂
// axis), two panels a row.
func ScalingSVG(points []ScalePoint) []byte {
	const w, h, pw, ph, top, left = 760, 560, 280, 170, 60, 70
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	text(&b, 20, 24, "start", 14, "Scaling with the number of edges")
	lo, hi := math.Log2(float64(points[0].Edges)), math.Log2(float64(points[len(points)-1].Edges))
	if hi <= lo {
		hi = lo + 1
	}
	for i, pan := range scalingPanels {
		x0 := float64(left + (i%2)*(pw+80))
		y0 := float64(top + (i/2)*(ph+90))
		text(&b, x0, y0-10, "start", 12, pan.title)
		fmt.Fprintf(&b, `<path d="M%.1f %.1f V%.1f H%.1f" fill="none" stroke="#444"/>`+"\n", x0, y0, y0+ph, x0+pw)
		var peak float64
		for _, p := range points {
			peak = max(peak, pan.value(p))
		}
		if peak <= 0 {
			text(&b, x0+pw/2, y0+ph/2, "middle", 11, "not measured")
			continue
		}
		ceil := niceCeil(peak)
		var line bytes.Buffer
		for _, p := range points {
			v := pan.value(p)
			x := x0 + pw*(math.Log2(float64(p.Edges))-lo)/(hi-lo)
			text(&b, x, y0+ph+axisLabelOffset, "middle", 10, strconv.Itoa(p.Edges))
			if v <= 0 {
				continue
			}
			y := y0 + ph - ph*v/ceil
			if line.Len() > 0 {
				line.WriteByte(' ')
			}
			fmt.Fprintf(&line, "%.1f,%.1f", x, y)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#1f77b4"/>`+"\n", x, y)
			text(&b, x, y-6, "middle", 9, pan.format(v))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="%s"/>`+"\n", line.String())
		text(&b, x0-4, y0+4, "end", 10, pan.format(ceil))
		text(&b, x0-4, y0+ph+4, "end", 10, "0")
		text(&b, x0+pw/2, y0+ph+axisLabelOffset+14, "middle", 10, "edges")
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// scalingSection renders the curve as a table and links the chart.
func scalingSection(b *bytes.Buffer, points []ScalePoint) {
	b.WriteString("## Scaling with the number of edges\n\n")
	fmt.Fprintf(b, "![scaling](%s)\n\n", ScalingChart)
	b.WriteString("| edges | devices (idle) | memory per edge | whole server side | job CPU per delivery | room fan-out p99 |\n|---|---|---|---|---|---|\n")
	for _, p := range points {
		cells := []string{strconv.Itoa(p.Edges), "–", "–", "–", "–", "–"}
		if p.Devices > 0 {
			cells[1] = strconv.Itoa(p.Devices)
		}
		for i, pan := range scalingPanels {
			if v := pan.value(p); v > 0 {
				cells[2+i] = pan.format(v)
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", cells[0], cells[1], cells[2], cells[3], cells[4], cells[5])
	}
	b.WriteString("\n")
}
