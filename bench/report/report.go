// Package report is the bench's output: a JSON document for machines and a
// Markdown summary with SVG charts for people, written under one folder.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/tally"
)

// Report is one bench run: the machine, and one Result per scenario.
type Report struct {
	Title       string    `json:"title"`
	GeneratedAt time.Time `json:"generated_at"`
	Command     string    `json:"command"`
	// Server says what was measured (binary and version, or an address).
	Server  string   `json:"server"`
	Machine Machine  `json:"machine"`
	Results []Result `json:"results"`
}

// Result is one scenario's figures. Sections that do not apply are nil.
type Result struct {
	Scenario  string            `json:"scenario"`
	Label     string            `json:"label"`
	Params    map[string]string `json:"params"`
	StartedAt time.Time         `json:"started_at"`
	// ElapsedSeconds is the whole scenario, connects to teardown.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// LoadAverage is the machine's 1-minute load average when the run
	// started: on a shared machine it says how much to trust the figures.
	LoadAverage float64 `json:"load_average"`

	Connections *Connections      `json:"connections,omitempty"`
	Pushes      *Pushes           `json:"pushes,omitempty"`
	Delivery    *tally.Accounting `json:"delivery,omitempty"`
	// Latency is push (timestamp in the body) to arrival at a device.
	Latency *hist.Summary `json:"latency,omitempty"`
	// Reach is, per fully delivered message, push to arrival at the last
	// device: the time to reach everyone.
	Reach      *hist.Summary `json:"reach,omitempty"`
	Throughput *Series       `json:"throughput,omitempty"`
	Server     *Server       `json:"server,omitempty"`
	Memory     *Memory       `json:"memory,omitempty"`
	// Cost is the whole server side by role over the measured phase
	// (cluster runs, where Options.Meter reads every process).
	Cost    *Cost    `json:"cost,omitempty"`
	Devices *Devices `json:"devices,omitempty"`
	// Resume is what positioned devices saw of recovery (runs with
	// positioned devices only).
	Resume  *Resume  `json:"resume,omitempty"`
	Targets []Target `json:"targets,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	// Error is set when the scenario could not complete; the figures
	// gathered before it are kept.
	Error string `json:"error,omitempty"`
}

// Connections is the connect phase.
type Connections struct {
	Target int `json:"target"`
	Up     int `json:"up"`
	Failed int `json:"failed"`
	// Lost counts connections the server closed during the run.
	Lost int `json:"lost"`
	// PerSecond is Up over first dial to last auth reply.
	PerSecond float64        `json:"per_second"`
	Latency   hist.Summary   `json:"latency"`
	Errors    map[string]int `json:"errors,omitempty"`
	Procs     int            `json:"procs"`
	Sources   int            `json:"sources"`
	Transport string         `json:"transport"`
}

// Pushes is the pushers' side.
type Pushes struct {
	Kind      string         `json:"kind"`
	Via       string         `json:"via"`
	Rate      float64        `json:"rate"`
	Achieved  float64        `json:"achieved"`
	Attempted int64          `json:"attempted"`
	Failed    int64          `json:"failed"`
	Behind    int64          `json:"behind"`
	Request   hist.Summary   `json:"request"`
	Errors    map[string]int `json:"errors,omitempty"`
}

// Series is delivered messages per second over time.
type Series struct {
	StepSeconds float64   `json:"step_seconds"`
	PerSecond   []float64 `json:"per_second"`
	// Peak and Mean are over the non-empty span of the series.
	Peak float64 `json:"peak"`
	Mean float64 `json:"mean"`
	// Offered is the delivery rate the pushes asked for: expected
	// deliveries over the push phase (0 when unknown).
	Offered float64 `json:"offered"`
}

// Server is the measured process's cost during the push phase.
type Server struct {
	PID        int     `json:"pid"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// DeliveredPerCPUSecond is deliveries / server CPU seconds.
	DeliveredPerCPUSecond float64 `json:"delivered_per_cpu_second"`
	RSS                   uint64  `json:"rss_bytes"`
}

// Memory is the idle scenario's cost per connection.
type Memory struct {
	Conns       int     `json:"conns"`
	RSSBefore   uint64  `json:"rss_before"`
	RSSAfter    uint64  `json:"rss_after"`
	RSSPerConn  float64 `json:"rss_per_conn"`
	HeapKnown   bool    `json:"heap_known"`
	HeapBefore  uint64  `json:"heap_before,omitempty"`
	HeapAfter   uint64  `json:"heap_after,omitempty"`
	HeapPerConn float64 `json:"heap_per_conn,omitempty"`
}

// Devices is what the devices saw beyond the bench's own messages.
type Devices struct {
	// BenchCPUSeconds is the CPU the device workers used: when it nears the
	// machine's capacity, the bench rather than the server set the pace.
	BenchCPUSeconds float64 `json:"bench_cpu_seconds"`
	// Reads counts the devices' socket reads (WebSocket: messages); bench
	// messages per read says how many pushes the server packs per write.
	Reads            int64   `json:"reads"`
	MessagesPerRead  float64 `json:"messages_per_read"`
	Foreign          int64   `json:"foreign"`
	Malformed        int64   `json:"malformed"`
	Heartbeats       int64   `json:"heartbeats"`
	HeartbeatErrors  int64   `json:"heartbeat_errors"`
	HeartbeatReplies int64   `json:"heartbeat_replies"`
	// OnlineMin/Max are the room counts heartbeat replies carried (-1:
	// no reply).
	OnlineMin int32          `json:"online_min"`
	OnlineMax int32          `json:"online_max"`
	LostErrs  map[string]int `json:"lost_errors,omitempty"`
	// Duplicates describes the first duplicate arrivals.
	Duplicates []Duplicate `json:"duplicates,omitempty"`
}

// Duplicate is one message a device received more than once.
type Duplicate struct {
	Device int    `json:"device"`
	ID     uint64 `json:"id"`
	// AfterMs is the time from the push to the repeated arrival.
	AfterMs float64 `json:"after_ms"`
}

// Resume is the recovery account of positioned devices: the verdicts
// (op 27) they got, and for resume-storm how long the reconnected devices
// took to recover what they missed.
type Resume struct {
	// Verdicts counts stream verdicts by stream kind and outcome ("room
	// recovered", "user no_history", ...), over every connect.
	Verdicts map[string]int `json:"verdicts,omitempty"`
	// Messages is the messages the verdicts said were recovered;
	// Positioned the op-28 frames the devices received.
	Messages   int64 `json:"messages"`
	Positioned int64 `json:"positioned"`

	// The reconnect (resume-storm): Expect messages to recover per
	// device, Reconnected devices, Complete ones (room verdict recovered
	// with exactly Expect messages), the others by why.
	Expect       int            `json:"expect,omitempty"`
	Reconnected  int            `json:"reconnected,omitempty"`
	Complete     int            `json:"complete,omitempty"`
	NotRecovered map[string]int `json:"not_recovered,omitempty"`
	// Reconnect is the reconnects themselves (dial to auth reply).
	Reconnect *Connections `json:"reconnect,omitempty"`
	// Latency is, per complete device, its reconnect's dial start to its
	// verdict with everything recovered.
	Latency *hist.Summary `json:"latency,omitempty"`
	// AllSeconds is the first reconnect dial to the last complete verdict.
	AllSeconds float64 `json:"all_seconds,omitempty"`
}

// Target is one of the project's goals checked against a figure. Targets
// are reported, never asserted.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// Write puts report.json, report.md and one SVG chart per result with
// figures to draw into dir.
func Write(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for i := range r.Results {
		res := &r.Results[i]
		if !Drawable(res) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, ChartName(i, res)), SVG(res), 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if pts := Scaling(r); pts != nil {
		if err := os.WriteFile(filepath.Join(dir, ScalingChart), ScalingSVG(pts), 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), Markdown(r), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// ChartName is the SVG file name of result i.
func ChartName(i int, r *Result) string { return fmt.Sprintf("%02d-%s.svg", i+1, r.Scenario) }
