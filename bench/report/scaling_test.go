package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/goim-edge/goim-edge/bench/hist"
)

// clusterResults is an idle and a room fan-out run at each edge count.
func clusterResults(edges ...int) []Result {
	var out []Result
	for _, n := range edges {
		params := map[string]string{"edges": strconv.Itoa(n)}
		idle := Result{Scenario: "idle", Params: params, Cost: &Cost{Devices: 1000 * n, Roles: []RoleCost{
			{Role: "edge", Processes: n, RSS: uint64(n) * 40 << 20},
			{Role: "logic", Processes: 1, RSS: 30 << 20},
		}}}
		fan := Result{Scenario: "room-fanout", Params: params, Latency: &hist.Summary{Count: 10, P99Ms: float64(n)},
			Cost: &Cost{Delivered: 1e6, Roles: []RoleCost{{Role: "job", Processes: 1, CPUSeconds: float64(n)}}}}
		out = append(out, fan, idle)
	}
	return out
}

func TestScaling(t *testing.T) {
	cases := []struct {
		name  string
		edges []int
		want  int
	}{
		{"one size is no curve", []int{4}, 0},
		{"sizes in any order come out ascending", []int{4, 1, 2}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Results: clusterResults(tc.edges...)}
			pts := Scaling(r)
			if len(pts) != tc.want {
				t.Fatalf("%d points, want %d", len(pts), tc.want)
			}
			for i, p := range pts {
				if i > 0 && p.Edges <= pts[i-1].Edges {
					t.Fatalf("points out of order: %+v", pts)
				}
				n := float64(p.Edges)
				if p.EdgeRSS != 40<<20 || p.TotalRSS != n*(40<<20)+30<<20 || p.JobCPUPerDelivery != n/1e6 || p.FanoutP99Ms != n || p.Devices != 1000*p.Edges {
					t.Errorf("point %+v", p)
				}
			}
			md := string(Markdown(r))
			if has := strings.Contains(md, "## Scaling with the number of edges"); has != (tc.want > 0) {
				t.Errorf("scaling section present %v, want %v", has, tc.want > 0)
			}
			if tc.want == 0 {
				return
			}
			if !strings.Contains(md, "| 2 | 2000 | 40.0 MiB | 110.0 MiB | 2 µs | 2 ms |") {
				t.Errorf("scaling table row for 2 edges missing:\n%s", md)
			}
			svg := ScalingSVG(pts)
			d := xml.NewDecoder(bytes.NewReader(svg))
			lines := 0
			for {
				tok, err := d.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("scaling SVG is not XML: %v", err)
				}
				if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
					lines++
				}
			}
			if lines != len(scalingPanels) {
				t.Errorf("%d curves drawn, want %d", lines, len(scalingPanels))
			}
		})
	}
}
