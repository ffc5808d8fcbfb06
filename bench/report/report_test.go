package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/tally"
)

func sample() *Report {
	lat := hist.Summary{Count: 4000, P50Ms: 1.2, P90Ms: 3, P99Ms: 8.5, P999Ms: 20, MaxMs: 31}
	return &Report{
		Title:       "goim-edge bench <standard>",
		GeneratedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Command:     "bench -standard",
		Server:      "bin/goim-edge",
		Machine:     ThisMachine(),
		Results: []Result{
			{
				Scenario: "room-fanout", Label: "room-fanout tcp 100 | 40/s <standard>",
				Params:      map[string]string{"conns": "100", "rate": "40"},
				Connections: &Connections{Target: 100, Up: 100, Transport: "tcp", PerSecond: 5000, Latency: lat, Errors: map[string]int{"dial ADDR: refused": 2}},
				Pushes:      &Pushes{Kind: "room", Via: "http", Rate: 40, Achieved: 39.9, Attempted: 80, Request: lat},
				Delivery:    &tally.Accounting{Messages: 80, Expected: 8000, Delivered: 8000, Ratio: 1, Complete: true},
				Latency:     &lat,
				Reach:       &lat,
				Throughput:  &Series{StepSeconds: 1, PerSecond: []float64{3900, 4000, 4100, 0}, Peak: 4100, Mean: 4000, Offered: 4000},
				Server:      &Server{PID: 42, CPUSeconds: 1.5, DeliveredPerCPUSecond: 5333, RSS: 30 << 20},
				Devices:     &Devices{Heartbeats: 10, HeartbeatReplies: 10, OnlineMin: 100, OnlineMax: 100, LostErrs: map[string]int{"EOF": 1}},
				Targets:     []Target{{Name: "p99", Want: "≤ 50 ms", Got: "8.5 ms", Met: true}},
				Notes:       []string{"a note with | pipe"},
			},
			{
				Scenario: "idle", Label: "idle tcp 15000",
				Memory:  &Memory{Conns: 15000, RSSBefore: 20 << 20, RSSAfter: 80 << 20, RSSPerConn: 4194, HeapKnown: true, HeapPerConn: 3000},
				Targets: []Target{{Name: "RSS per connection", Want: "≤ 4 KiB", Got: "4.10 KiB", Met: false}},
			},
			{Scenario: "push-keys", Label: "failed run", Error: "connect: timed out"},
			{
				Scenario: "resume-storm", Label: "resume-storm tcp 100",
				Resume: &Resume{Verdicts: map[string]int{"room recovered": 200, "user no_history": 200}, Messages: 9900, Positioned: 9900,
					Expect: 100, Reconnected: 100, Complete: 99, NotRecovered: map[string]int{"no verdict": 1}, Latency: &lat, AllSeconds: 1.25,
					Reconnect: &Connections{Up: 100, PerSecond: 200, Latency: lat}},
			},
		},
	}
}

// wellFormedXML parses the whole document and checks it is an <svg>.
func wellFormedXML(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	first := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg not well-formed: %v\n%s", err, b)
		}
		if se, ok := tok.(xml.StartElement); ok && first == "" {
			first = se.Name.Local
			if se.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("svg namespace %q", se.Name.Space)
			}
		}
	}
	if first != "svg" {
		t.Fatalf("root element %q", first)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("report.json invalid: %v", err)
	}
	if len(back.Results) != 4 || back.Results[0].Delivery.Delivered != 8000 || back.Results[1].Memory.RSSPerConn != 4194 || back.Results[3].Resume.Complete != 99 {
		t.Fatalf("round trip lost figures: %+v", back.Results)
	}
	svgs, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
	if len(svgs) != 1 || filepath.Base(svgs[0]) != "01-room-fanout.svg" {
		t.Fatalf("charts %v, want only 01-room-fanout.svg (idle and failed runs have nothing to draw)", svgs)
	}
	svg, _ := os.ReadFile(svgs[0])
	wellFormedXML(t, svg)
	for _, want := range []string{"<polyline", "<rect", "p99.9", "&lt;standard&gt;", "offered 4k/s", "8.5 ms"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("svg lacks %q", want)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	s := string(md)
	for _, want := range []string{
		"# goim-edge bench <standard>",
		"![room-fanout](01-room-fanout.svg)",
		"| room-fanout tcp 100 \\| 40/s <standard> | p99 | ≤ 50 ms | 8.5 ms | met |",
		"| idle tcp 15000 | RSS per connection | ≤ 4 KiB | 4.10 KiB | missed |",
		"exactly once: yes",
		"4.10 KiB per connection",
		"**Did not complete:** connect: timed out",
		"2 × `dial ADDR: refused`",
		"a note with \\| pipe",
		"**99 of 100 reconnected devices recovered all 100 missed messages**, all of them within **1.25 s**",
		"1 × `no verdict`",
		"(first dial to last auth reply: 0.50 s)",
		"200 × `room recovered`; 200 × `user no_history`",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	// Every table row has as many cells as its header.
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "|---") {
			cols := cells(lines[i-1])
			for j := i + 1; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
				if n := cells(lines[j]); n != cols {
					t.Errorf("table row %q has %d cells, header %d", lines[j], n, cols)
				}
			}
		}
	}
}

// cells counts unescaped pipes minus one.
func cells(row string) int {
	return strings.Count(strings.ReplaceAll(row, `\|`, ""), "|") - 1
}

func TestSVGEscapesAndEmptyPanels(t *testing.T) {
	r := &Result{Scenario: "x", Label: `<script>&"`, Connections: &Connections{Latency: hist.Summary{Count: 1, P50Ms: 1, MaxMs: 1}}}
	svg := SVG(r)
	wellFormedXML(t, svg)
	if bytes.Contains(svg, []byte("<script>")) {
		t.Fatal("label not escaped")
	}
	if !bytes.Contains(svg, []byte("no deliveries")) || !bytes.Contains(svg, []byte("connect + auth latency")) {
		t.Fatalf("panels: %s", svg)
	}
}

func TestNiceCeil(t *testing.T) {
	cases := map[float64]float64{0: 1, -3: 1, 0.7: 1, 1: 1, 1.1: 2, 3: 5, 7: 10, 4100: 5000, 12000: 20000}
	for in, want := range cases {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestMillis(t *testing.T) {
	cases := map[float64]string{0.239: "0.239 ms", 7.86: "7.86 ms", 183.4: "183 ms", 79700: "79.7 s", 1000: "1 s"}
	for in, want := range cases {
		if got := Millis(in); got != want {
			t.Errorf("Millis(%v) = %q, want %q", in, got, want)
		}
	}
}
