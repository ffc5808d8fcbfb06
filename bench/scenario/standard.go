package scenario

import (
	"time"

	"github.com/goim-edge/goim-edge/bench/device"
	"github.com/goim-edge/goim-edge/bench/push"
)

// Standard is the standard set `make bench` runs, sized for the targets of
// issue 7 on a 2-core machine. Each entry still needs the server's
// addresses. quick shrinks every run (for a smoke test of the harness).
func Standard(quick bool) []Options {
	set := []Options{
		{Scenario: Idle, Transport: device.TCP, Conns: 15000, Settle: 10 * time.Second, GCWait: 130 * time.Second, Heartbeat: 60 * time.Second, Procs: -1},
		{Scenario: Idle, Transport: device.WS, Conns: 5000, Settle: 10 * time.Second, GCWait: 130 * time.Second, Heartbeat: 60 * time.Second, Procs: -1},
		{Scenario: ConnectStorm, Transport: device.TCP, Conns: 10000, Concurrency: 128, Procs: 2},
		{Scenario: RoomFanout, Transport: device.TCP, Conns: 10000, Rate: 40, Duration: 20 * time.Second, Procs: -1},
		{Scenario: PushKeys, Transport: device.TCP, Conns: 1000, Rate: 1000, Duration: 20 * time.Second, By: push.Keys, Procs: 1},
		{Scenario: PushKeys, Transport: device.WS, Conns: 1000, Rate: 1000, Duration: 10 * time.Second, By: push.Mids, Via: "kitex", Procs: 1},
		{Scenario: Broadcast, Transport: device.TCP, Conns: 10000, Rate: 0.5, Duration: 10 * time.Second, Speed: 5000, Procs: -1},
	}
	if quick {
		shrink(set)
	}
	return set
}

// Quick shrinks one scenario's options as the quick standard set does:
// 1/50 of the devices (at least 50), in this process, pushing for at most
// 3 s.
func Quick(o *Options) {
	d := *o
	d.Defaults()
	o.Conns = max(d.Conns/50, 50)
	o.Procs = 0
	if o.Scenario != ResumeStorm {
		o.Duration = min(d.Duration, 3*time.Second)
	}
	o.Settle = min(d.Settle, 2*time.Second)
	o.GCWait = 0
}
