// Package scenario runs the bench's named scenarios against a
// goim-compatible server and turns what the workers and pushers saw into a
// report.Result.
package scenario

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goim-edge/goim-edge/bench/device"
	"github.com/goim-edge/goim-edge/bench/push"
	"github.com/goim-edge/goim-edge/bench/report"
)

// Scenario names.
const (
	Idle         = "idle"
	RoomFanout   = "room-fanout"
	PushKeys     = "push-keys"
	ConnectStorm = "connect-storm"
	Broadcast    = "broadcast"
	ResumeStorm  = "resume-storm"
)

// Names lists the scenarios in the order the standard set runs them
// (resume-storm is not in it: it needs history on for the room's type).
var Names = []string{Idle, ConnectStorm, RoomFanout, PushKeys, Broadcast, ResumeStorm}

// Options configures one scenario run. Zero values take the defaults
// Defaults fills in.
type Options struct {
	Scenario string
	// Label names the run in the report (default: scenario, transport and
	// sizes).
	Label string

	// TCPAddr is the server's goim TCP address, WSURL its WebSocket URL
	// (ws://host:port/sub); Transport picks which devices use. Either may
	// be a comma-separated list of edges: devices are dealt round-robin.
	TCPAddr   string
	WSURL     string
	Transport string
	// WSCompress makes WebSocket devices offer permessage-deflate.
	WSCompress bool
	// DeviceEngine reads TCP devices: device.EnginePoll ("" too: epoll
	// loops, no goroutine or buffer per idle device; the million-device
	// runs need it) or device.EngineGoroutine (a goroutine and a 4 KiB
	// buffer each). WebSocket devices ignore it.
	DeviceEngine string
	// HTTPAddr is goim's HTTP push API; RPCAddr the Kitex Push service.
	// Via picks the pusher: "http" or "kitex".
	HTTPAddr string
	RPCAddr  string
	Via      string
	// RPCSecret is the server's rpc.secret, sent by the Kitex pusher.
	RPCSecret string

	// Conns is the number of devices.
	Conns int
	// Rate is pushes per second, Duration how long pushing lasts.
	Rate     float64
	Duration time.Duration
	// Procs is the number of worker processes (0: devices run in this
	// process; -1: automatic).
	Procs int
	// Sources are local addresses devices dial from (nil: automatic,
	// 127.0.0.x when the server is on loopback).
	Sources []string
	// TargetPID is the server process to measure (RSS, CPU); 0: none.
	TargetPID int
	// MetricsURL is the server's Prometheus endpoint for Go heap figures.
	MetricsURL string
	// Meter reads the server side of a deployment of several processes
	// (a cluster run: every role, Redis, etcd) before and after the phase
	// a scenario measures; the difference is Result.Cost. nil: only
	// TargetPID and MetricsURL are measured.
	Meter Meter

	// Room is the room devices join ("type://id"); Rooms > 1 spreads
	// devices over that many rooms (ids counted up from Room's).
	Room  string
	Rooms int
	// Op is the push operation; devices accept it.
	Op int32
	// Size is the pushed body size in bytes (at least 24).
	Size int
	// Speed is the broadcast speed (connections per second, 0: no limit).
	Speed int
	// By is how push-keys addresses devices: "keys" or "mids".
	By string
	// Resume makes devices positioned (docs/recovery.md): op 26 before
	// auth, positions kept; resume-storm always sets it.
	Resume bool
	// Messages is how many messages resume-storm pushes while every
	// device is away.
	Messages int
	// StormInflight makes resume-storm reconnect as soon as its push
	// requests returned, while the server may still be delivering them
	// (by default it waits, through -metrics, until the server holds no
	// session before pushing and has handled every push before the
	// reconnect).
	StormInflight bool

	// Heartbeat is each device's heartbeat interval.
	Heartbeat time.Duration
	// Concurrency is connects in flight per worker; ConnectRate caps
	// connects per second per worker (0: none).
	Concurrency int
	ConnectRate float64
	// ConnectTimeout bounds one device's dial plus auth.
	ConnectTimeout time.Duration
	// Settle is how long idle waits before measuring memory.
	Settle time.Duration
	// GCWait is how much longer idle may wait for the server's next
	// garbage collection, so heap in use is live memory (0: don't wait).
	GCWait time.Duration
	// Drain is how long the devices must stay quiet after the last push
	// before the run ends (a server still delivering late messages gets
	// more time, up to two minutes).
	Drain time.Duration
	// InFlight caps concurrent push requests.
	InFlight int

	// Exe is the executable worker processes run (the bench binary).
	Exe string
	// Progress receives the live progress line (nil: none); Stderr the
	// workers' own stderr.
	Progress io.Writer
	Stderr   io.Writer
	// ProgressInPlace rewrites one terminal line instead of printing a
	// line per update (for a terminal, not a log).
	ProgressInPlace bool
}

// Defaults fills unset options with each scenario's defaults.
func (o *Options) Defaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	if o.Transport == "" {
		o.Transport = device.TCP
		if o.TCPAddr == "" && o.WSURL != "" {
			o.Transport = device.WS
		}
	}
	if o.Via == "" {
		o.Via = "http"
	}
	if o.Room == "" {
		o.Room = "test://1"
	}
	def(&o.Rooms, 1)
	if o.Op == 0 {
		o.Op = 1000
	}
	def(&o.Size, 64)
	if o.By == "" {
		o.By = push.Keys
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 30 * time.Second
	}
	if o.Scenario == ConnectStorm || o.Scenario == ResumeStorm {
		def(&o.Concurrency, 256)
	}
	def(&o.Concurrency, 64)
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	if o.Settle == 0 {
		o.Settle = 5 * time.Second
	}
	if o.Drain == 0 {
		o.Drain = 5 * time.Second
	}
	def(&o.InFlight, 128)
	switch o.Scenario {
	case Idle:
		def(&o.Conns, 10000)
	case ConnectStorm:
		def(&o.Conns, 10000)
	case RoomFanout:
		def(&o.Conns, 1000)
		if o.Rate == 0 {
			o.Rate = 40
		}
	case PushKeys:
		def(&o.Conns, 1000)
		if o.Rate == 0 {
			o.Rate = 1000
		}
	case Broadcast:
		def(&o.Conns, 1000)
		if o.Rate == 0 {
			o.Rate = 1
		}
	case ResumeStorm:
		def(&o.Conns, 10000)
		def(&o.Messages, 100)
		if o.Rate == 0 {
			o.Rate = 1000
		}
		o.Resume = true
		if o.Duration == 0 {
			// Long enough for Messages at Rate; the schedule stops at
			// Messages.
			o.Duration = time.Duration(float64(o.Messages)/o.Rate*float64(time.Second)) + time.Second
		}
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.Procs < 0 {
		o.Procs = autoProcs(o.Conns)
	}
	if o.Sources == nil {
		o.Sources = autoSources(o.serverHost(), o.Conns)
	}
}

// perProcessConns keeps each worker under this machine's 20,000 open files
// per process, with room for pipes and the HTTP pusher.
const perProcessConns = 18000

// portsPerSource is the share of one source address's ~28,000 ephemeral
// ports the bench uses before spreading to the next 127.0.0.x.
const portsPerSource = 10000

func autoProcs(conns int) int {
	if conns <= 2000 {
		return 0
	}
	return (conns + 15000 - 1) / 15000
}

func autoSources(host string, conns int) []string {
	ip := net.ParseIP(host)
	if host == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return []string{}
	}
	n := min(max(1, (conns+portsPerSource-1)/portsPerSource+1), 250)
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.0.%d", i+1)
	}
	return out
}

// deviceAddrs lists the edges devices connect to.
func (o *Options) deviceAddrs() []string {
	list := o.TCPAddr
	if o.Transport == device.WS {
		list = o.WSURL
	}
	var out []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (o *Options) serverHost() string {
	addrs := o.deviceAddrs()
	if len(addrs) == 0 {
		return ""
	}
	addr := addrs[0]
	if o.Transport == device.WS {
		if u, err := url.Parse(addr); err == nil {
			return u.Hostname()
		}
		return ""
	}
	host, _, _ := net.SplitHostPort(addr)
	return host
}

// Validate reports options that cannot work, before anything connects.
func (o *Options) Validate() error {
	var errs []error
	known := false
	for _, n := range Names {
		known = known || n == o.Scenario
	}
	if !known {
		errs = append(errs, fmt.Errorf("unknown scenario %q (want one of %s)", o.Scenario, strings.Join(Names, ", ")))
	}
	switch o.Transport {
	case device.TCP:
		if len(o.deviceAddrs()) == 0 {
			errs = append(errs, errors.New("-tcp address needed for tcp devices"))
		}
		for _, a := range o.deviceAddrs() {
			if _, _, err := net.SplitHostPort(a); err != nil {
				errs = append(errs, fmt.Errorf("-tcp %q: %w", a, err))
			}
		}
	case device.WS:
		if len(o.deviceAddrs()) == 0 {
			errs = append(errs, errors.New("-ws URL needed for ws devices"))
		}
		for _, a := range o.deviceAddrs() {
			if u, err := url.Parse(a); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") {
				errs = append(errs, fmt.Errorf("-ws %q is not a ws:// URL", a))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("transport %q, want tcp or ws", o.Transport))
	}
	switch o.DeviceEngine {
	case "", device.EngineGoroutine, device.EnginePoll:
	default:
		errs = append(errs, fmt.Errorf("device engine %q, want %s or %s", o.DeviceEngine, device.EngineGoroutine, device.EnginePoll))
	}
	if o.pushes() {
		switch o.Via {
		case "http":
			if o.HTTPAddr == "" {
				errs = append(errs, errors.New("-http address needed to push over HTTP"))
			}
		case "kitex":
			if o.RPCAddr == "" {
				errs = append(errs, errors.New("-rpc address needed to push over Kitex"))
			}
		default:
			errs = append(errs, fmt.Errorf("-via %q, want http or kitex", o.Via))
		}
		if o.Rate <= 0 || o.Duration <= 0 {
			errs = append(errs, errors.New("-rate and -duration must be positive"))
		}
	}
	if o.Scenario == ResumeStorm && (o.Rooms > 1 || o.Messages <= 0) {
		errs = append(errs, errors.New("resume-storm needs one room (-rooms 1) and -messages > 0"))
	}
	if o.Scenario == PushKeys && o.By != push.Keys && o.By != push.Mids {
		errs = append(errs, fmt.Errorf("-by %q, want keys or mids", o.By))
	}
	if _, _, err := push.SplitRoom(o.Room); err != nil {
		errs = append(errs, err)
	}
	if o.Conns <= 0 {
		errs = append(errs, errors.New("-conns must be positive"))
	}
	if procs := max(o.Procs, 1); o.Conns/procs > perProcessConns {
		errs = append(errs, fmt.Errorf("%d devices in %d process(es) exceeds %d per process (20,000 open files each): raise -procs", o.Conns, procs, perProcessConns))
	}
	if len(o.Sources) > 0 && o.Conns/len(o.Sources) > 25000 {
		errs = append(errs, fmt.Errorf("%d devices over %d source address(es) would exhaust ephemeral ports: add -sources", o.Conns, len(o.Sources)))
	}
	if o.Scenario == Idle && o.TargetPID <= 0 && o.Meter == nil {
		errs = append(errs, errors.New("idle measures a server process: give -target-pid"))
	}
	if o.Procs > 0 && o.Exe == "" {
		errs = append(errs, errors.New("worker processes need the bench executable"))
	}
	return errors.Join(errs...)
}

func (o *Options) pushes() bool {
	return o.Scenario == RoomFanout || o.Scenario == PushKeys || o.Scenario == Broadcast || o.Scenario == ResumeStorm
}

// rooms lists the rooms devices spread over.
func (o *Options) rooms() []string {
	if o.Rooms <= 1 {
		return []string{o.Room}
	}
	typ, id, _ := push.SplitRoom(o.Room)
	out := make([]string, o.Rooms)
	n, err := strconv.Atoi(id)
	for i := range out {
		if err == nil {
			out[i] = fmt.Sprintf("%s://%d", typ, n+i)
		} else {
			out[i] = fmt.Sprintf("%s://%s-%d", typ, id, i)
		}
	}
	return out
}

func (o *Options) label() string {
	if o.Label != "" {
		return o.Label
	}
	s := fmt.Sprintf("%s %s %d conns", o.Scenario, o.Transport, o.Conns)
	switch o.Scenario {
	case RoomFanout:
		s += fmt.Sprintf(", %g msgs/s", o.Rate)
		if o.Rooms > 1 {
			s += fmt.Sprintf(" over %d rooms", o.Rooms)
		}
	case PushKeys:
		s += fmt.Sprintf(", %g pushes/s by %s", o.Rate, o.By)
	case Broadcast:
		s += fmt.Sprintf(", %g/s at speed %d", o.Rate, o.Speed)
	case ResumeStorm:
		s += fmt.Sprintf(", %d missed messages", o.Messages)
	}
	if o.Resume && o.Scenario != ResumeStorm {
		s += ", positioned devices"
	}
	return s
}

// params lists the options that shaped the run, for the report.
func (o *Options) params() map[string]string {
	p := map[string]string{
		"transport": o.Transport, "conns": strconv.Itoa(o.Conns), "procs": strconv.Itoa(o.Procs),
		"sources": strconv.Itoa(len(o.Sources)), "heartbeat": o.Heartbeat.String(), "room": o.Room,
	}
	if o.Resume {
		p["resume"] = "true"
	}
	if o.WSCompress {
		p["ws_compress"] = "true"
	}
	if o.Transport == device.TCP {
		p["device_engine"] = cmp.Or(o.DeviceEngine, device.EnginePoll)
	}
	if o.pushes() {
		p["via"] = o.Via
		p["rate"] = strconv.FormatFloat(o.Rate, 'g', -1, 64)
		p["duration"] = o.Duration.String()
		p["size"] = strconv.Itoa(o.Size)
		p["op"] = strconv.Itoa(int(o.Op))
	}
	switch o.Scenario {
	case RoomFanout:
		p["rooms"] = strconv.Itoa(o.Rooms)
	case PushKeys:
		p["by"] = o.By
	case Broadcast:
		p["speed"] = strconv.Itoa(o.Speed)
	case ConnectStorm:
		p["concurrency"] = strconv.Itoa(o.Concurrency)
	case ResumeStorm:
		p["concurrency"] = strconv.Itoa(o.Concurrency)
		p["messages"] = strconv.Itoa(o.Messages)
		if o.StormInflight {
			p["storm_inflight"] = "true"
		}
		delete(p, "duration")
	case Idle:
		p["settle"] = o.Settle.String()
		p["gc_wait"] = o.GCWait.String()
	}
	return p
}

// Meter reads a whole deployment's server side at one moment. The
// cluster launcher (bench/cluster) implements it.
type Meter interface {
	Sample(ctx context.Context) (report.Sample, error)
}

// Label is the name a run of o gets in the report when Options.Label is
// empty: scenario, transport and sizes.
func Label(o Options) string { return o.label() }
