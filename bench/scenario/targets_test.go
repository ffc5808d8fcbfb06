package scenario

import (
	"testing"

	"github.com/goim-edge/goim-edge/bench/device"
	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/report"
)

// The report's targets are met exactly up to their boundary and missed
// just beyond it.
func TestTargetBoundaries(t *testing.T) {
	for _, tt := range []struct {
		name      string
		scenario  string
		transport string
		res       report.Result
		target    string
		met       bool
	}{
		{"tcp idle at 4 KiB", Idle, device.TCP, report.Result{Memory: &report.Memory{RSSPerConn: 4096}}, "RSS per connection", true},
		{"tcp idle over 4 KiB", Idle, device.TCP, report.Result{Memory: &report.Memory{RSSPerConn: 4097}}, "RSS per connection", false},
		{"ws idle at 16 KiB", Idle, device.WS, report.Result{Memory: &report.Memory{RSSPerConn: 16384}}, "RSS per connection", true},
		{"ws idle over 16 KiB", Idle, device.WS, report.Result{Memory: &report.Memory{RSSPerConn: 16385}}, "RSS per connection", false},
		{"fan-out p99 at 50 ms", RoomFanout, device.TCP, report.Result{Latency: &hist.Summary{Count: 1, P99Ms: 50}}, "push → device p99", true},
		{"fan-out p99 over 50 ms", RoomFanout, device.TCP, report.Result{Latency: &hist.Summary{Count: 1, P99Ms: 50.01}}, "push → device p99", false},
		{"push-keys p99 at 5 ms", PushKeys, device.TCP, report.Result{Latency: &hist.Summary{Count: 1, P99Ms: 5}}, "push → device p99", true},
		{"push-keys p99 over 5 ms", PushKeys, device.TCP, report.Result{Latency: &hist.Summary{Count: 1, P99Ms: 5.01}}, "push → device p99", false},
		{"storm at 5,000/s", ConnectStorm, device.TCP, report.Result{Connections: &report.Connections{PerSecond: 5000}}, "connections authenticated per second", true},
		{"storm below 5,000/s", ConnectStorm, device.TCP, report.Result{Connections: &report.Connections{PerSecond: 4999}}, "connections authenticated per second", false},
		{"storm with a failure", ConnectStorm, device.TCP, report.Result{Connections: &report.Connections{PerSecond: 9000, Failed: 1}}, "connections authenticated per second", false},
		{"resume-storm in 5 s", ResumeStorm, device.TCP, report.Result{Resume: &report.Resume{Reconnected: 10, Complete: 10, AllSeconds: 5}}, "every reconnected device recovered every missed message", true},
		{"resume-storm over 5 s", ResumeStorm, device.TCP, report.Result{Resume: &report.Resume{Reconnected: 10, Complete: 10, AllSeconds: 5.01}}, "every reconnected device recovered every missed message", false},
		{"resume-storm one short", ResumeStorm, device.TCP, report.Result{Resume: &report.Resume{Reconnected: 10, Complete: 9, AllSeconds: 1}}, "every reconnected device recovered every missed message", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Scenario: tt.scenario, Transport: tt.transport}
			r := tt.res
			addTargets(&o, &r)
			for _, tg := range r.Targets {
				if tg.Name == tt.target {
					if tg.Met != tt.met {
						t.Fatalf("%s: met %v (got %s), want %v", tg.Name, tg.Met, tg.Got, tt.met)
					}
					return
				}
			}
			t.Fatalf("no target %q in %+v", tt.target, r.Targets)
		})
	}
}
