// Command bench loads a goim-compatible server with TCP and WebSocket
// devices and pushers, and reports connections, fan-out, latency and
// exactly-once delivery. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goim-edge/goim-edge/bench/report"
	"github.com/goim-edge/goim-edge/bench/scenario"
	"github.com/goim-edge/goim-edge/bench/worker"
)

// millionPerEdge is how many devices -million gives each edge: below the
// 20,000 open files a process may hold here, with room for the edge's own
// connections (etcd, Kitex, logic).
const millionPerEdge = 18000

func main() {
	// Re-executed by a parent bench as one of its worker processes?
	worker.ServeIfChild()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// cli is the parsed command line.
type cli struct {
	o         scenario.Options
	sources   string
	out       string
	standard  bool
	quick     bool
	serverBin string
	only      string
	strict    bool
	cpuprof   string
	serverSet setList
	// serverConfig is the -config file given to fresh servers.
	serverConfig string
	recovery     bool

	// Cluster runs: edges per fresh cluster (0: standalone), its jobs and
	// queue; scaling lists cluster sizes for the scaling curve; million is
	// the device count of the large run.
	cluster      int
	clusterJobs  int
	clusterQueue string
	scaling      string
	million      int
	sizes        []int
	// minFreeMB stops the run when the machine's available memory falls
	// below it.
	minFreeMB int
}

// setList collects repeated -server-set flags.
type setList []string

func (s *setList) String() string     { return strings.Join(*s, ",") }
func (s *setList) Set(v string) error { *s = append(*s, v); return nil }

func parse(args []string, stderr io.Writer) (*cli, error) {
	c := &cli{}
	o := &c.o
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: bench -scenario NAME [flags]   one scenario against a running server (goim's default ports)\n"+
			"       bench -standard -server-bin BIN   the standard set, each run against a fresh `BIN standalone`\n"+
			"       bench -recovery -server-bin BIN   the cost of message recovery: room-fanout with history off/on/positioned, resume-storm\n"+
			"       bench -standard -cluster N -server-bin BIN   the cluster standard set, each run against a fresh cluster of N edges\n"+
			"       bench -scaling 1,2,4,8,16 -server-bin BIN   idle memory and room fan-out at each cluster size (the scaling curve)\n"+
			"       bench -million 1000000 -server-bin BIN   as many devices as the machine holds, over as many edges as they need\n"+
			"scenarios: %s\n\nflags:\n", strings.Join(scenario.Names, ", "))
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Scenario, "scenario", "", "scenario to run: "+strings.Join(scenario.Names, ", "))
	fs.StringVar(&o.Label, "label", "", "name of the run in the report")
	fs.StringVar(&o.TCPAddr, "tcp", "127.0.0.1:3101", "server's goim TCP address (comma-separated: several edges, devices dealt round-robin)")
	fs.StringVar(&o.WSURL, "ws", "ws://127.0.0.1:3102/sub", "server's WebSocket URL (comma-separated: several edges)")
	fs.StringVar(&o.Transport, "transport", "tcp", "device transport: tcp or ws")
	fs.StringVar(&o.DeviceEngine, "device-engine", "", "what reads TCP devices: poll (epoll loops: no goroutine or buffer per idle device) or goroutine (one each, with a 4 KiB buffer); default poll")
	fs.BoolVar(&o.WSCompress, "ws-compress", false, "WebSocket devices offer permessage-deflate (the server accepts it with edge.ws_compression=true)")
	fs.StringVar(&o.HTTPAddr, "http", "127.0.0.1:3111", "goim HTTP push API address")
	fs.StringVar(&o.RPCAddr, "rpc", "127.0.0.1:3119", "Kitex Push service address (logic RPC)")
	fs.StringVar(&o.Via, "via", "http", "pusher: http (goim's HTTP API) or kitex (Push service)")
	fs.StringVar(&o.RPCSecret, "rpc-secret", os.Getenv("GOIM_RPC_SECRET"), "the server's rpc.secret, sent by -via kitex (default: $GOIM_RPC_SECRET)")
	fs.IntVar(&o.Conns, "conns", 0, "devices (default per scenario: idle/connect-storm 10000, others 1000)")
	fs.Float64Var(&o.Rate, "rate", 0, "pushes per second (default: room-fanout 40, push-keys 1000, broadcast 1)")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to push (default 10s)")
	fs.IntVar(&o.Procs, "procs", -1, "worker processes for devices (0: in this process, -1: auto, 1 per 15,000 devices)")
	fs.StringVar(&c.sources, "sources", "auto", "comma-separated local IPs devices dial from (auto: 127.0.0.x for a loopback server, one per 10,000 devices + 1)")
	fs.IntVar(&o.TargetPID, "target-pid", 0, "server PID to measure (RSS, CPU); required by idle")
	fs.StringVar(&o.MetricsURL, "metrics", "", "server's Prometheus /metrics URL, for Go heap figures")
	fs.StringVar(&o.Room, "room", "test://1", "room devices join (type://id)")
	fs.IntVar(&o.Rooms, "rooms", 1, "spread devices over this many rooms (ids counted up from -room's)")
	op := fs.Int("op", 1000, "push operation (devices accept it)")
	fs.IntVar(&o.Size, "size", 64, "push body bytes (min 24: id, timestamp, destination)")
	fs.IntVar(&o.Speed, "speed", 0, "broadcast speed, connections per second (0: no limit)")
	fs.StringVar(&o.By, "by", "keys", "push-keys addressing: keys or mids")
	fs.BoolVar(&o.Resume, "resume", false, "positioned devices: op 26 before auth, stream positions kept (docs/recovery.md); resume-storm always")
	fs.IntVar(&o.Messages, "messages", 0, "resume-storm: messages pushed while every device is away (default 100)")
	fs.BoolVar(&o.StormInflight, "storm-inflight", false, "resume-storm: reconnect as soon as the push requests return, while the server may still deliver them (default: wait for it via -metrics)")
	fs.DurationVar(&o.Heartbeat, "heartbeat", 30*time.Second, "device heartbeat interval")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "connects in flight per worker (default 64; connect-storm 256)")
	fs.Float64Var(&o.ConnectRate, "connect-rate", 0, "max connects per second per worker (0: no cap)")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 15*time.Second, "dial + auth timeout per device")
	fs.DurationVar(&o.Settle, "settle", 5*time.Second, "idle: wait before measuring memory")
	fs.DurationVar(&o.GCWait, "gc-wait", 0, "idle: wait up to this long for the server's next GC before reading its heap (Go forces one every 2m)")
	fs.DurationVar(&o.Drain, "drain", 5*time.Second, "wait for late deliveries after the last push")
	fs.IntVar(&o.InFlight, "inflight", 128, "concurrent push requests")
	fs.StringVar(&c.out, "out", "bench/results", "report folder (report.json, report.md, charts)")
	fs.BoolVar(&c.standard, "standard", false, "run the standard set, each scenario against a fresh standalone server from -server-bin")
	fs.BoolVar(&c.quick, "quick", false, "a small, fast version of -standard, -recovery or one -scenario's defaults (1/50 of the devices)")
	fs.BoolVar(&c.recovery, "recovery", false, "run the recovery set, each run against a fresh standalone server from -server-bin (history for the room's type from -server-config, or a config the bench writes)")
	fs.StringVar(&c.serverConfig, "server-config", "", "with -server-bin: a TOML config file for the fresh server (-config FILE; -server-set overrides it), e.g. [[logic.history.rooms]]")
	fs.StringVar(&c.serverBin, "server-bin", "", "goim-edge binary to start fresh (standalone, free ports) for the run")
	fs.Var(&c.serverSet, "server-set", "with -server-bin: a key=value config override for the fresh server, e.g. edge.room_batch_window=40ms (repeatable)")
	fs.StringVar(&c.only, "only", "", "with -standard: comma-separated scenarios to keep")
	fs.StringVar(&c.cpuprof, "cpuprofile", "", "write the bench process's own CPU profile here (devices run in it with -procs 0)")
	fs.IntVar(&c.cluster, "cluster", 0, "with -server-bin: run against a fresh cluster of N edges (redis-server, etcd, one logic, -cluster-jobs jobs) instead of a standalone server")
	fs.IntVar(&c.clusterJobs, "cluster-jobs", 1, "cluster runs: job processes")
	fs.StringVar(&c.clusterQueue, "cluster-queue", "redis", "cluster runs: queue, redis (Streams) or kafka (kfake in the bench process: not a real broker)")
	fs.StringVar(&c.scaling, "scaling", "", "with -server-bin: comma-separated cluster sizes (edges); idle and room-fanout at each, and the scaling chart")
	fs.IntVar(&c.million, "million", 0, "with -server-bin: the large run with this many devices (idle, room push, broadcast, push by mid), over -cluster edges (0: one edge per 18,000 devices)")
	fs.IntVar(&c.minFreeMB, "min-free-mb", 1024, "stop the run, reporting how far it got, when the machine's available memory falls below this many MiB (0: never)")
	fs.BoolVar(&c.strict, "strict", false, "exit 1 when any message was missing, duplicated or misrouted, or a connection failed")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.Op = int32(*op)
	if c.sources != "auto" {
		o.Sources = []string{}
		for _, s := range strings.Split(c.sources, ",") {
			if s = strings.TrimSpace(s); s != "" {
				o.Sources = append(o.Sources, s)
			}
		}
	}
	switch {
	case c.standard && c.recovery:
		return nil, errors.New("give -standard or -recovery, not both")
	case (c.standard || c.recovery) && c.serverBin == "":
		return nil, errors.New("-standard and -recovery need -server-bin (run `make build` first, or use `make bench`)")
	case !c.standard && !c.recovery && o.Scenario == "" && c.scaling == "" && c.million == 0:
		return nil, errors.New("give -scenario NAME, -standard, -scaling or -million")
	case (c.standard || c.recovery) && o.Scenario != "":
		return nil, errors.New("-standard and -recovery run their own scenarios; use -only to pick some")
	case c.serverConfig != "" && c.serverBin == "":
		return nil, errors.New("-server-config needs -server-bin")
	case (c.cluster > 0 || c.scaling != "" || c.million > 0) && c.serverBin == "":
		return nil, errors.New("-cluster, -scaling and -million start their own clusters: give -server-bin")
	case c.recovery && (c.cluster > 0 || c.scaling != "" || c.million > 0):
		return nil, errors.New("-recovery runs against a standalone server; it does not combine with -cluster, -scaling or -million")
	case c.serverConfig != "" && (c.cluster > 0 || c.scaling != "" || c.million > 0):
		return nil, errors.New("-server-config is for a standalone server; use -server-set with cluster runs")
	case c.cluster < 0 || c.clusterJobs < 1:
		return nil, errors.New("-cluster must be ≥ 0 and -cluster-jobs ≥ 1")
	case c.clusterQueue != "redis" && c.clusterQueue != "kafka":
		return nil, fmt.Errorf("-cluster-queue %q: want redis or kafka", c.clusterQueue)
	}
	if c.scaling != "" {
		for _, f := range strings.Split(c.scaling, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return nil, fmt.Errorf("-scaling %q: want edge counts such as 1,2,4,8", c.scaling)
			}
			c.sizes = append(c.sizes, n)
		}
	}
	if c.million > 0 || c.scaling != "" {
		c.standard = false
		if o.Scenario != "" {
			return nil, errors.New("-scaling and -million run their own scenarios")
		}
	}
	return c, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	c.o.Exe = exe
	c.o.ProgressInPlace = isTerminal(stderr)
	stderr = &syncWriter{w: stderr}
	c.o.Progress = stderr
	c.o.Stderr = stderr

	if c.cpuprof != "" {
		f, err := os.Create(c.cpuprof)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "bench: cpu profile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	rep := &report.Report{
		Title:       "goim-edge bench",
		GeneratedAt: time.Now().UTC(),
		Command:     "bench " + strings.Join(args, " "),
		Machine:     report.ThisMachine(),
	}
	var runs []freshRun
	shape := func(edges int) *clusterShape {
		return &clusterShape{edges: edges, jobs: c.clusterJobs, queue: c.clusterQueue}
	}
	switch {
	case c.million > 0:
		rep.Title = fmt.Sprintf("goim-edge bench: %d devices on one machine", c.million)
		edges := c.cluster
		if edges == 0 {
			edges = (c.million + millionPerEdge - 1) / millionPerEdge
		}
		for _, o := range scenario.MillionSet(c.million) {
			if c.only != "" && !contains(strings.Split(c.only, ","), o.Scenario) {
				continue
			}
			runs = append(runs, freshRun{o: overlay(c.o, o), shape: shape(edges)})
		}
	case c.scaling != "":
		rep.Title = "goim-edge bench: scaling with the number of edges"
		for _, n := range c.sizes {
			for _, o := range scenario.ScalingSet(c.quick) {
				runs = append(runs, freshRun{o: overlay(c.o, o), shape: shape(n)})
			}
		}
	case c.standard && c.cluster > 0:
		rep.Title = fmt.Sprintf("goim-edge bench: cluster standard set (%d edges)", c.cluster)
		for _, o := range scenario.ClusterStandard(c.quick) {
			if c.only != "" && !contains(strings.Split(c.only, ","), o.Scenario) {
				continue
			}
			runs = append(runs, freshRun{o: overlay(c.o, o), shape: shape(c.cluster)})
		}
	case c.standard:
		rep.Title = "goim-edge bench: standard set"
		for _, o := range scenario.Standard(c.quick) {
			if c.only != "" && !contains(strings.Split(c.only, ","), o.Scenario) {
				continue
			}
			runs = append(runs, freshRun{o: overlay(c.o, o), config: c.serverConfig})
		}
	case c.recovery:
		rep.Title = "goim-edge bench: the cost of message recovery"
		for _, r := range scenario.RecoverySet(c.quick) {
			if c.only != "" && !contains(strings.Split(c.only, ","), r.Options.Scenario) {
				continue
			}
			run := freshRun{o: overlay(c.o, r.Options)}
			if r.History {
				if run.config, err = historyConfig(c, run.o); err != nil {
					fmt.Fprintf(stderr, "bench: %v\n", err)
					return 1
				}
			}
			runs = append(runs, run)
		}
	default:
		o := c.o
		if c.quick {
			scenario.Quick(&o)
		}
		runs = []freshRun{{o: o, config: c.serverConfig}}
		if c.cluster > 0 {
			runs[0].shape = shape(c.cluster)
		}
	}

	ctx, unguard := memoryGuard(ctx, uint64(max(c.minFreeMB, 0))<<20)
	defer unguard()
	failed := false
	for _, r := range runs {
		if ctx.Err() != nil {
			break
		}
		o := r.o
		var res *report.Result
		if r.shape != nil {
			res = runCluster(ctx, c.serverBin, c.out, o, rep, *r.shape, c.serverSet)
		} else if c.serverBin != "" {
			res = runFresh(ctx, c.serverBin, c.out, o, rep, r.config, c.serverSet)
		} else {
			res = scenario.Run(ctx, o)
			rep.Server = fmt.Sprintf("a running server (tcp %s, ws %s, http %s)", o.TCPAddr, o.WSURL, o.HTTPAddr)
		}
		if cause := context.Cause(ctx); errors.Is(cause, errLowMemory) {
			res.Error = "stopped: " + cause.Error()
		}
		printOutcome(stderr, res)
		failed = failed || res.Error != "" || (c.strict && !clean(res))
		rep.Results = append(rep.Results, *res)
	}
	if err := report.Write(c.out, rep); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "bench: report in %s (report.md, report.json)\n", c.out)
	if failed {
		return 1
	}
	return 0
}

// clean reports whether a run saw no delivery or connection fault.
func clean(r *report.Result) bool {
	if d := r.Delivery; d != nil && !d.Complete {
		return false
	}
	if c := r.Connections; c != nil && (c.Failed > 0 || c.Lost > 0) {
		return false
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

func printOutcome(w io.Writer, r *report.Result) {
	line := fmt.Sprintf("bench: %s:", r.Label)
	if c := r.Connections; c != nil {
		line += fmt.Sprintf(" %d/%d up (%.0f/s)", c.Up, c.Target, c.PerSecond)
	}
	if d := r.Delivery; d != nil {
		line += fmt.Sprintf(", delivered %.4f%% (%d missing, %d dup)", 100*d.Ratio, d.Missing, d.Duplicates)
	}
	if l := r.Latency; l != nil && l.Count > 0 {
		line += fmt.Sprintf(", p50 %.3g ms p99 %.3g ms p99.9 %.3g ms", l.P50Ms, l.P99Ms, l.P999Ms)
	}
	if m := r.Memory; m != nil {
		line += fmt.Sprintf(", %.0f B RSS/conn", m.RSSPerConn)
		if m.HeapKnown {
			line += fmt.Sprintf(", %.0f B heap/conn", m.HeapPerConn)
		}
	}
	if r.Error != "" {
		line += " FAILED: " + r.Error
	}
	fmt.Fprintln(w, line)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
