package scenario

import (
	"time"

	"github.com/goim-edge/goim-edge/bench/device"
	"github.com/goim-edge/goim-edge/bench/push"
)

// ClusterStandard is the cluster standard set (`make bench-cluster`): each
// run against a fresh cluster of several edges, one logic and one job
// over Redis and etcd, devices dealt round-robin over the edges. Sizes
// are the standalone set's, so the two reports read side by side; push by
// mid goes through Kitex and Redis's mid index. quick shrinks it as
// Standard does.
func ClusterStandard(quick bool) []Options {
	set := []Options{
		{Scenario: Idle, Transport: device.TCP, Conns: 20000, Settle: 10 * time.Second, Heartbeat: 60 * time.Second, Procs: -1},
		{Scenario: ConnectStorm, Transport: device.TCP, Conns: 10000, Concurrency: 128, Procs: 2},
		{Scenario: RoomFanout, Transport: device.TCP, Conns: 10000, Rate: 40, Duration: 20 * time.Second, Procs: -1},
		{Scenario: PushKeys, Transport: device.TCP, Conns: 1000, Rate: 1000, Duration: 20 * time.Second, By: push.Mids, Via: "kitex", Procs: 1},
		{Scenario: Broadcast, Transport: device.TCP, Conns: 10000, Rate: 0.5, Duration: 10 * time.Second, Speed: 5000, Procs: -1},
	}
	if quick {
		shrink(set)
	}
	return set
}

// ScalingSet is what the scaling curve measures at each cluster size: the
// whole system's memory with a fixed number of idle devices, and a room
// fan-out across every edge (job CPU per delivery, p99).
func ScalingSet(quick bool) []Options {
	set := []Options{
		{Scenario: Idle, Transport: device.TCP, Conns: 16000, Settle: 5 * time.Second, Heartbeat: 60 * time.Second, Procs: -1},
		{Scenario: RoomFanout, Transport: device.TCP, Conns: 10000, Rate: 40, Duration: 10 * time.Second, Procs: -1},
	}
	if quick {
		shrink(set)
	}
	return set
}

// MillionSet is the large run (`bench -million`): devices devices, all in
// one room and each with a key and a mid, first idle (the whole system's
// memory per device and the time to connect everyone), then a room push,
// broadcasts at full speed and pushes by mid at 1,000/s, each checked for
// exactly-once delivery. Every run connects everyone afresh.
func MillionSet(devices int) []Options {
	return []Options{
		{Scenario: Idle, Transport: device.TCP, Conns: devices, Settle: 10 * time.Second, Heartbeat: 5 * time.Minute, Procs: -1, Concurrency: 32},
		{Scenario: RoomFanout, Transport: device.TCP, Conns: devices, Rate: 0.2, Duration: 10 * time.Second, Heartbeat: 5 * time.Minute, Procs: -1, Concurrency: 32},
		{Scenario: Broadcast, Transport: device.TCP, Conns: devices, Rate: 0.2, Duration: 10 * time.Second, Speed: 0, Heartbeat: 5 * time.Minute, Procs: -1, Concurrency: 32},
		{Scenario: PushKeys, Transport: device.TCP, Conns: devices, Rate: 1000, Duration: 10 * time.Second, By: push.Mids, Via: "kitex", Heartbeat: 5 * time.Minute, Procs: -1, Concurrency: 32},
	}
}

// shrink is the quick version of a set: 1/50 of the devices (at least
// 50), in this process, pushing for at most 3 s.
func shrink(set []Options) {
	for i := range set {
		o := &set[i]
		o.Conns = max(o.Conns/50, 50)
		o.Duration = min(o.Duration, 3*time.Second)
		o.Settle = min(o.Settle, 2*time.Second)
		o.GCWait = 0
		o.Procs = 0
		if o.Scenario == Broadcast {
			o.Rate, o.Speed = 2, 0
		}
	}
}
