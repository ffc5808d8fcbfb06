package scenario

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/procstat"
	"github.com/goim-edge/goim-edge/bench/push"
	"github.com/goim-edge/goim-edge/bench/report"
	"github.com/goim-edge/goim-edge/bench/tally"
	"github.com/goim-edge/goim-edge/bench/worker"
)

// session is one scenario run in progress.
type session struct {
	o       Options
	res     *report.Result
	specs   []worker.Spec
	epoch   time.Time
	step    time.Duration
	reports []*worker.ConnectReport
	live    push.Counter

	// mu guards what the progress line reads while the run changes it.
	mu    sync.Mutex
	phase string
	grp   *worker.Group

	// Set by push scenarios.
	outcome    *push.Outcome
	pushKind   string
	pushStart  time.Time
	cpuBefore  procstat.Sample
	cpuSampled bool

	// Set by resume-storm: the reconnects and the messages each device
	// should recover.
	reconnects []*worker.ConnectReport
	expect     int

	// meter is the phase measured with Options.Meter (cluster runs).
	meter metered
}

// Run runs one scenario and returns its result. A failure part-way still
// returns the figures gathered so far, with Result.Error set.
func Run(ctx context.Context, o Options) *report.Result {
	o.Defaults()
	started := time.Now()
	res := &report.Result{Scenario: o.Scenario, Label: o.label(), Params: o.params(), StartedAt: started.UTC(), LoadAverage: report.LoadAverage()}
	if err := o.Validate(); err != nil {
		res.Error = err.Error()
		return res
	}
	s := &session{o: o, res: res, phase: "starting"}
	err := s.run(ctx)
	if err != nil {
		res.Error = err.Error()
	}
	s.cost()
	res.ElapsedSeconds = time.Since(started).Seconds()
	addTargets(&o, res)
	return res
}

func (s *session) run(ctx context.Context) error {
	stop := s.startProgress()
	defer stop()
	if s.o.Scenario == Idle {
		return s.idle(ctx)
	}
	if s.o.Scenario == ConnectStorm {
		return s.storm(ctx)
	}
	if err := s.connect(ctx); err != nil {
		return err
	}
	defer s.teardown()
	var err error
	switch s.o.Scenario {
	case RoomFanout:
		err = s.roomFanout(ctx)
	case PushKeys:
		err = s.pushKeys(ctx)
	case Broadcast:
		err = s.broadcast(ctx)
	case ResumeStorm:
		err = s.resumeStorm(ctx)
	}
	ferr := s.finish(ctx)
	return errors.Join(err, ferr)
}

// runID makes keys and mids unique per run, so routes a previous run left
// in the server cannot receive this run's pushes.
func runID() (string, int64) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<40))
	return hex.EncodeToString(b), 1<<41 + n.Int64()
}

// seriesStep picks the throughput resolution: finer for short runs.
func seriesStep(d time.Duration) time.Duration {
	if d <= 10*time.Second {
		return 250 * time.Millisecond
	}
	return time.Second
}

// connect starts the workers and waits for every device to be attempted.
func (s *session) connect(ctx context.Context) error {
	o := &s.o
	prefix, midBase := runID()
	s.epoch = time.Now()
	s.step = seriesStep(o.Duration)
	workers := max(o.Procs, 1)
	per := (o.Conns + workers - 1) / workers
	for w := range workers {
		first := w * per
		count := min(per, o.Conns-first)
		if count <= 0 {
			break
		}
		s.specs = append(s.specs, worker.Spec{
			Worker: w, Transport: o.Transport, Compress: o.WSCompress, Engine: o.DeviceEngine, Addrs: o.deviceAddrs(), Sources: o.Sources,
			First: first, Count: count, KeyPrefix: "bench-" + prefix, MidBase: midBase,
			Rooms: o.rooms(), Platform: "bench", Accepts: []int32{o.Op}, Heartbeat: o.Heartbeat,
			Concurrency: o.Concurrency, ConnectRate: o.ConnectRate, Timeout: o.ConnectTimeout,
			Epoch: s.epoch.UnixNano(), Step: s.step, ProgressEvery: 250 * time.Millisecond, Resume: o.Resume,
		})
	}
	s.setPhase("connecting")
	g, err := worker.StartGroup(ctx, s.specs, worker.Launch{InProcess: o.Procs == 0, Exe: o.Exe, Stderr: o.Stderr})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.grp = g
	s.mu.Unlock()
	// Generous: a server that accepts 500 connections/s still finishes.
	timeout := o.ConnectTimeout + time.Duration(o.Conns/500+30)*time.Second
	reports, err := g.WaitConnected(ctx, timeout)
	if err != nil {
		return err
	}
	s.reports = reports
	s.res.Connections = s.connections()
	if s.res.Connections.Up == 0 {
		return fmt.Errorf("no device connected (%v)", s.res.Connections.Errors)
	}
	return nil
}

func (s *session) connections() *report.Connections {
	c := &report.Connections{Target: s.o.Conns, Procs: s.o.Procs, Sources: len(s.o.Sources), Transport: s.o.Transport, Errors: map[string]int{}}
	lat := hist.New()
	var first, last int64
	for _, r := range s.reports {
		c.Up += r.Up
		c.Failed += r.Failed
		lat.Merge(r.Latency)
		for k, v := range r.Errors {
			c.Errors[k] += v
		}
		if r.FirstDial > 0 && (first == 0 || r.FirstDial < first) {
			first = r.FirstDial
		}
		last = max(last, r.LastAuth)
	}
	if last > first && c.Up > 0 {
		c.PerSecond = float64(c.Up) / time.Duration(last-first).Seconds()
	}
	c.Latency = lat.Summary()
	if len(c.Errors) == 0 {
		c.Errors = nil
	}
	return c
}

// members counts connected devices per room.
func (s *session) members() map[string]int64 {
	m := map[string]int64{}
	for _, r := range s.reports {
		for room, n := range r.RoomMembers {
			m[room] += int64(n)
		}
	}
	return m
}

// liveDevices lists the indexes of devices that connected.
func (s *session) liveDevices() []int {
	failed := map[int]bool{}
	for _, r := range s.reports {
		for _, i := range r.FailedIndexes {
			failed[i] = true
		}
	}
	var out []int
	for _, sp := range s.specs {
		for i := sp.First; i < sp.First+sp.Count; i++ {
			if !failed[i] {
				out = append(out, i)
			}
		}
	}
	return out
}

func (s *session) pusher() (push.Pusher, error) {
	if s.o.Via == "kitex" {
		return push.NewKitex(s.o.RPCAddr, s.o.RPCSecret)
	}
	return push.NewHTTP(s.o.HTTPAddr, s.o.InFlight), nil
}

// pushPhase runs the push schedule, measuring the server's CPU over it
// and the drain that follows, and waits until expected deliveries arrived
// or the drain time is over.
func (s *session) pushPhase(ctx context.Context, kind string, drain time.Duration, msg push.Message, expected func(*push.Outcome) int64) error {
	p, err := s.pusher()
	if err != nil {
		return err
	}
	defer p.Close()
	s.pushKind = kind
	s.sampleCPU(true)
	s.meterStart(ctx, "pushes and their drain")
	s.setPhase("pushing")
	s.pushStart = time.Now()
	plan := push.Plan{Rate: s.o.Rate, Duration: s.o.Duration, InFlight: s.o.InFlight, Size: s.o.Size}
	s.outcome = push.Run(ctx, p, plan, msg, &s.live)
	s.setPhase("draining")
	if err := s.drain(ctx, expected(s.outcome), drain); err != nil {
		return err
	}
	s.sampleCPU(false)
	s.meterEnd(ctx)
	if len(s.outcome.Sent) == 0 {
		return fmt.Errorf("every push failed: %v", s.outcome.Errors)
	}
	return nil
}

// maxDrain bounds the wait for late deliveries however long they keep
// trickling in.
const maxDrain = 2 * time.Minute

// drain waits until want messages arrived, or none arrived for quiet (a
// server that is behind but still delivering gets more time, up to
// maxDrain), so late messages are counted as late, not as missing.
func (s *session) drain(ctx context.Context, want int64, quiet time.Duration) error {
	g := s.group()
	start := time.Now()
	last, lastChange := g.Progress().Received, time.Now()
	for {
		got := g.Progress().Received
		if got >= want {
			return nil
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		if time.Since(lastChange) >= quiet {
			return nil
		}
		if time.Since(start) >= maxDrain {
			s.res.Notes = append(s.res.Notes, fmt.Sprintf("Stopped waiting for late messages after %v: they were still arriving.", maxDrain))
			return nil
		}
		if err := g.Err(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *session) sampleCPU(before bool) {
	if s.o.TargetPID <= 0 {
		return
	}
	smp, err := procstat.Read(s.o.TargetPID)
	if err != nil {
		s.res.Notes = append(s.res.Notes, fmt.Sprintf("server stats: %v", err))
		s.cpuSampled = false
		return
	}
	if before {
		s.cpuBefore, s.cpuSampled = smp, true
		return
	}
	if s.cpuSampled {
		s.res.Server = &report.Server{
			PID: s.o.TargetPID, CPUSeconds: smp.CPUSeconds - s.cpuBefore.CPUSeconds, RSS: smp.RSS,
		}
	}
}

// finish collects the workers' results and fills the report.
func (s *session) finish(ctx context.Context) error {
	s.setPhase("collecting")
	results, err := s.group().Finish(ctx, 60*time.Second)
	if err != nil {
		return err
	}
	s.merge(results)
	return nil
}

func (s *session) merge(results []*worker.Result) {
	lat := hist.New()
	ledger := tally.NewLedger()
	dev := &report.Devices{OnlineMin: -1, OnlineMax: -1, LostErrs: map[string]int{}}
	var dups, misrouted int64
	var series []int64
	lost := 0
	var received int64
	for _, r := range results {
		lat.Merge(r.Latency)
		ledger.Merge(r.Deliveries)
		dups += r.Duplicates
		misrouted += r.Misrouted
		lost += r.Lost
		dev.BenchCPUSeconds += r.CPUSeconds
		dev.Reads += r.Reads
		received += r.Received
		dev.Foreign += r.Foreign
		dev.Malformed += r.Malformed
		dev.Heartbeats += r.Heartbeats
		dev.HeartbeatErrors += r.HeartbeatErrors
		dev.HeartbeatReplies += r.HeartbeatReplies
		if r.OnlineMin >= 0 && (dev.OnlineMin < 0 || r.OnlineMin < dev.OnlineMin) {
			dev.OnlineMin = r.OnlineMin
		}
		dev.OnlineMax = max(dev.OnlineMax, r.OnlineMax)
		for k, v := range r.LostErrors {
			dev.LostErrs[k] += v
		}
		for _, d := range r.DuplicateSamples {
			if len(dev.Duplicates) < 20 {
				dev.Duplicates = append(dev.Duplicates, report.Duplicate{Device: d.Device, ID: d.ID, AfterMs: float64(d.At-d.Sent) / 1e6})
			}
		}
		for i, n := range r.Series {
			if i >= len(series) {
				series = append(series, make([]int64, i+1-len(series))...)
			}
			series[i] += n
		}
	}
	if len(dev.LostErrs) == 0 {
		dev.LostErrs = nil
	}
	if dev.Reads > 0 && received > 0 {
		dev.MessagesPerRead = float64(received) / float64(dev.Reads)
	}
	s.res.Devices = dev
	s.res.Resume = mergeResume(results)
	if s.res.Connections != nil {
		s.res.Connections.Lost = lost
	}
	if s.outcome == nil {
		return
	}
	out := s.outcome
	reach := hist.New()
	acc := tally.Reconcile(out.Sent, ledger, dups, misrouted, reach.Record)
	s.res.Delivery = &acc
	ls := lat.Summary()
	s.res.Latency = &ls
	if reach.Count() > 0 {
		rs := reach.Summary()
		s.res.Reach = &rs
	}
	s.res.Pushes = &report.Pushes{
		Kind: s.pushKind, Via: s.o.Via, Rate: s.o.Rate, Achieved: out.AchievedRate(),
		Attempted: out.Attempted, Failed: out.Failed, Behind: out.Behind, Request: out.Request.Summary(),
	}
	if len(out.Errors) > 0 {
		s.res.Pushes.Errors = out.Errors
	}
	s.res.Throughput = throughput(series, s.step, int((s.pushStart.Sub(s.epoch))/s.step))
	if d := out.End.Sub(out.Start).Seconds(); d > 0 {
		s.res.Throughput.Offered = float64(acc.Expected) / d
	}
	if srv := s.res.Server; srv != nil && srv.CPUSeconds > 0 {
		srv.DeliveredPerCPUSecond = float64(acc.Delivered) / srv.CPUSeconds
	}
	if s.o.Scenario == ResumeStorm {
		s.stormResume()
	}
}

// throughput turns first-arrival counts per step into messages per second,
// from the push phase's first step to the last step with arrivals.
func throughput(series []int64, step time.Duration, from int) *report.Series {
	from = max(from, 0)
	last := len(series) - 1
	for last >= from && series[last] == 0 {
		last--
	}
	t := &report.Series{StepSeconds: step.Seconds(), PerSecond: []float64{}}
	if last < from {
		return t
	}
	var total int64
	for _, n := range series[from : last+1] {
		v := float64(n) / step.Seconds()
		t.PerSecond = append(t.PerSecond, v)
		t.Peak = max(t.Peak, v)
		total += n
	}
	t.Mean = float64(total) / (float64(len(t.PerSecond)) * step.Seconds())
	return t
}

func (s *session) teardown() {
	if g := s.group(); g != nil {
		g.Close(10 * time.Second)
	}
}

func (s *session) setPhase(p string) {
	s.mu.Lock()
	s.phase = p
	s.mu.Unlock()
}

func (s *session) status() (string, *worker.Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase, s.grp
}

// group is the running workers (nil before connect).
func (s *session) group() *worker.Group {
	_, g := s.status()
	return g
}
