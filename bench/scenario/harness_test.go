package scenario

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/bench/device"
	"github.com/goim-edge/goim-edge/bench/worker"
)

func TestMain(m *testing.M) {
	worker.ServeIfChild()
	os.Exit(m.Run())
}

func peerOptions(p *refPeer, scenario, transport string) Options {
	return Options{
		Scenario: scenario, TCPAddr: p.tcp.Addr().String(), WSURL: p.wsURL(), Transport: transport,
		HTTPAddr: p.http.URL, Conns: 40, Rate: 20, Duration: time.Second, Procs: 0,
		Drain: 2 * time.Second, Heartbeat: 200 * time.Millisecond, TargetPID: os.Getpid(),
	}
}

// TestHarnessAccountsExactly checks the harness end to end against the
// reference peer: correct delivery is reported complete, and injected
// drops and duplicates are reported as exactly that many.
func TestHarnessAccountsExactly(t *testing.T) {
	cases := []struct {
		name                string
		scenario            string
		transport           string
		dropEvery, dupEvery int
		rooms               int
		wantMissing         int64
		wantDup             int64
	}{
		{name: "room tcp clean", scenario: RoomFanout, transport: device.TCP},
		{name: "room ws clean over 2 rooms", scenario: RoomFanout, transport: device.WS, rooms: 2},
		{name: "room tcp drops", scenario: RoomFanout, transport: device.TCP, dropEvery: 100, wantMissing: 8},
		{name: "room tcp duplicates", scenario: RoomFanout, transport: device.TCP, dupEvery: 200, wantDup: 4},
		{name: "push-keys tcp", scenario: PushKeys, transport: device.TCP},
		{name: "broadcast ws", scenario: Broadcast, transport: device.WS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newRefPeer(t)
			p.dropEvery, p.dupEvery = c.dropEvery, c.dupEvery
			o := peerOptions(p, c.scenario, c.transport)
			o.Rooms = c.rooms
			res := Run(context.Background(), o)
			if res.Error != "" {
				t.Fatal(res.Error)
			}
			d := res.Delivery
			if res.Connections.Up != 40 || d == nil {
				t.Fatalf("connections %+v delivery %+v", res.Connections, d)
			}
			// 20/s for 1 s = 20 pushes; room/broadcast reach 40 devices each.
			wantExpected := int64(20 * 40)
			switch {
			case c.scenario == PushKeys:
				wantExpected = 20
			case c.rooms == 2:
				wantExpected = 20 * 20 // each push reaches one room of 20
			}
			if d.Messages != 20 || d.Expected != wantExpected || d.Missing != c.wantMissing || d.Duplicates != c.wantDup || d.Extra != 0 || d.Misrouted != 0 {
				t.Fatalf("delivery %+v", d)
			}
			if d.Complete != (c.wantMissing == 0 && c.wantDup == 0) {
				t.Fatalf("complete = %v", d.Complete)
			}
			if res.Latency.Count != d.Delivered || res.Latency.P50Ms <= 0 {
				t.Fatalf("latency %+v for %d deliveries", res.Latency, d.Delivered)
			}
			if res.Throughput == nil || len(res.Throughput.PerSecond) == 0 || res.Throughput.Peak <= 0 {
				t.Fatalf("throughput %+v", res.Throughput)
			}
			if res.Devices.HeartbeatReplies == 0 {
				t.Fatalf("devices %+v", res.Devices)
			}
			if res.Server == nil || res.Server.PID != os.Getpid() {
				t.Fatalf("server %+v", res.Server)
			}
			if c.scenario != PushKeys && c.wantMissing == 0 && (res.Reach == nil || res.Reach.Count != 20) {
				t.Fatalf("reach %+v", res.Reach)
			}
		})
	}
}

func TestHarnessSpreadsOverEdges(t *testing.T) {
	p := newRefPeer(t)
	o := peerOptions(p, RoomFanout, device.TCP)
	o.TCPAddr = p.tcp.Addr().String() + "," + p.tcp2.Addr().String()
	res := Run(context.Background(), o)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	if !res.Delivery.Complete || res.Delivery.Expected != 20*40 {
		t.Fatalf("delivery %+v", res.Delivery)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.accepted != [2]int{20, 20} {
		t.Fatalf("devices per edge %v, want 20 and 20", p.accepted)
	}
}

func TestHarnessIdleAndStorm(t *testing.T) {
	p := newRefPeer(t)
	o := peerOptions(p, Idle, device.TCP)
	o.Settle = 200 * time.Millisecond
	res := Run(context.Background(), o)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	// The peer runs in this process, so the test's own RSS is measured.
	if res.Memory == nil || res.Memory.Conns != 40 || res.Memory.RSSAfter == 0 || res.Memory.HeapKnown {
		t.Fatalf("memory %+v", res.Memory)
	}
	if len(res.Targets) != 1 || !strings.Contains(res.Targets[0].Want, "4 KiB") {
		t.Fatalf("targets %+v", res.Targets)
	}

	o = peerOptions(p, ConnectStorm, device.WS)
	res = Run(context.Background(), o)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	if c := res.Connections; c.Up != 40 || c.PerSecond <= 0 || c.Latency.Count != 40 {
		t.Fatalf("connections %+v", c)
	}
}

func TestHarnessReportsRefusedDevices(t *testing.T) {
	o := Options{Scenario: RoomFanout, TCPAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:1", Conns: 3, Procs: 0, ConnectTimeout: time.Second}
	res := Run(context.Background(), o)
	if res.Error == "" || !strings.Contains(res.Error, "no device connected") {
		t.Fatalf("error = %q", res.Error)
	}
	if res.Connections == nil || res.Connections.Failed != 3 || len(res.Connections.Errors) == 0 {
		t.Fatalf("connections %+v", res.Connections)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"unknown scenario", Options{Scenario: "nope", TCPAddr: "x:1", Conns: 1}, "unknown scenario"},
		{"idle without pid", Options{Scenario: Idle, TCPAddr: "x:1"}, "target-pid"},
		{"too many per process", Options{Scenario: ConnectStorm, TCPAddr: "x:1", Conns: 40000, Procs: 1, Exe: "x"}, "raise -procs"},
		{"bad ws url", Options{Scenario: ConnectStorm, Transport: device.WS, WSURL: "ws://x/sub,http://x/sub", Conns: 1}, "ws:// URL"},
		{"bad tcp addr", Options{Scenario: ConnectStorm, TCPAddr: "x:1,nohost", Conns: 1}, "missing port"},
		{"bad via", Options{Scenario: PushKeys, TCPAddr: "x:1", Via: "carrier-pigeon", Conns: 1}, "-via"},
		{"bad by", Options{Scenario: PushKeys, TCPAddr: "x:1", HTTPAddr: "x:2", By: "rooms", Conns: 1}, "-by"},
		{"bad room", Options{Scenario: RoomFanout, TCPAddr: "x:1", HTTPAddr: "x:2", Room: "lobby", Conns: 1}, "type://id"},
		{"procs without exe", Options{Scenario: ConnectStorm, TCPAddr: "x:1", Conns: 5, Procs: 2}, "executable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.Defaults()
			err := c.o.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestDefaultsSpreadSources(t *testing.T) {
	o := Options{Scenario: Idle, TCPAddr: "127.0.0.1:3101", Conns: 25000, Procs: -1}
	o.Defaults()
	if o.Procs != 2 || len(o.Sources) != 4 || o.Sources[3] != "127.0.0.4" {
		t.Fatalf("procs %d sources %v", o.Procs, o.Sources)
	}
	o = Options{Scenario: Idle, TCPAddr: "10.1.2.3:3101", Conns: 10}
	o.Defaults()
	if len(o.Sources) != 0 {
		t.Fatalf("remote server got loopback sources %v", o.Sources)
	}
	o = Options{Scenario: RoomFanout, Room: "live://7", Rooms: 3}
	if got := strings.Join(o.rooms(), ","); got != "live://7,live://8,live://9" {
		t.Fatalf("rooms %s", got)
	}
}
