package chaos

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// Issue-12 bullets a scenario's promise depends on.
const (
	bulletDrain    = "Drain that delivers"
	bulletRedis    = "Routes that survive the loss of Redis"
	bulletCaller   = "Callers' mistakes are answered, not queued"
	bulletRegistry = "Registry blips are not outages"
	bulletSlow     = "A slow edge costs only its own devices (and edge dedup)"
	bulletDedup    = "Edges drop duplicates by message id (in the slow-edge bullet)"
	bulletHeld     = "none (held before issue 12)"
)

// Timing sizes a run.
type Timing struct {
	// Devices is the fleet size (half per edge); Rooms how many rooms.
	Devices, Rooms int
	// Rate is pushes per second, all kinds together.
	Rate int
	// Before and After are steady traffic before the fault and after it
	// ends.
	Before, After time.Duration
	// Grace: a device is inside the promise for a push if its connection
	// stayed open until Grace after the push was answered.
	Grace time.Duration
	// Settle bounds the wait for the last deliveries after traffic stops.
	Settle time.Duration
	// Hang is how long a hung edge stays stopped; Slow how long an edge is
	// slowed by stop/continue cycling.
	Hang, Slow time.Duration
	// SlowStop and SlowRun are the slow edge's stopped and running parts
	// of each cycle.
	SlowStop, SlowRun time.Duration
	// Settings are the cluster's.
	Settings Settings
}

// Scenario is one fault and how to recover from it.
type Scenario struct {
	Name string
	// Bullet is the issue-12 fix the scenario's promise depends on.
	Bullet string
	// Fault injects the fault and returns once it is over (the process
	// restarted, resumed or gone); notes say what happened.
	Fault func(s *Suite) (notes []string, err error)
	// Recover brings the cluster back for the next scenario (nil: wait
	// until healthy).
	Recover func(s *Suite) error
	// Bad is set for the scenario whose fault is a caller's bad push.
	Bad bool
	// Rate overrides Timing.Rate (0: keep it).
	Rate int
}

// Scenarios is every fault of the suite, in run order.
var Scenarios = []Scenario{
	// Sparse traffic, as in the trial (a push every 120 ms): bad
	// pushes then make consecutive edge failures instead of being diluted
	// by good ones.
	{Name: "bad-push", Bullet: bulletCaller, Bad: true, Fault: faultBadPush, Rate: 10},
	// A job killed between delivering and acknowledging redelivers on
	// restart (its own pending list): without edge dedup a push can arrive
	// twice.
	{Name: "job-kill-restart", Bullet: bulletDedup + " (no loss held before issue 12)", Fault: faultJobRestart},
	{Name: "edge-sigkill", Bullet: bulletHeld + "; reconnects: the recovery issue", Fault: faultEdgeKill, Recover: restartEdge2},
	{Name: "edge-sigterm-drain", Bullet: bulletDrain, Fault: faultEdgeDrain, Recover: restartEdge2},
	{Name: "edge-hung", Bullet: bulletSlow + "; " + bulletRegistry, Fault: faultEdgeHung},
	{Name: "edge-slow", Bullet: bulletSlow, Fault: faultEdgeSlow},
	{Name: "etcd-stall", Bullet: bulletRegistry, Fault: faultEtcdStall},
	{Name: "redis-restart-empty", Bullet: bulletRedis, Fault: faultRedisRestart, Recover: reconnectAll},
}

// Suite is a cluster, its devices and the pusher, ready to run scenarios.
type Suite struct {
	C       *Cluster
	Fleet   *Fleet
	Traffic *Traffic
	T       Timing
	ctx     context.Context

	badCodes []int
}

// NewSuite starts the cluster and connects the fleet; everything stops at
// tb's cleanup.
func NewSuite(tb testing.TB, bin string, t Timing) *Suite {
	tb.Helper()
	c := StartCluster(tb, bin, t.Settings)
	f := NewFleet(c.EdgeTCP, t.Devices, t.Rooms)
	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx)
	tb.Cleanup(func() {
		cancel()
		f.Wait()
	})
	if err := f.WaitHome(60 * time.Second); err != nil {
		tb.Fatal(err)
	}
	return &Suite{C: c, Fleet: f, Traffic: NewTraffic(f, c.HTTP), T: t, ctx: ctx}
}

// Run runs one scenario on a healthy cluster and returns its result; err
// means the cluster could not be brought to the start line or back.
func (s *Suite) Run(sc Scenario) (Result, error) {
	r := Result{Scenario: sc.Name, Bullet: sc.Bullet}
	if err := s.C.Healthy(60 * time.Second); err != nil {
		return r, err
	}
	if err := s.Fleet.Rebalance(60 * time.Second); err != nil {
		return r, err
	}
	s.Traffic.take()
	marks := s.C.logMarks()
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	go func() {
		rate := s.T.Rate
		if sc.Rate > 0 {
			rate = sc.Rate
		}
		s.Traffic.Run(ctx, rate)
		close(done)
	}()
	sleepCtx(s.ctx, s.T.Before)
	faultAt := time.Now()
	notes, ferr := sc.Fault(s)
	r.Notes = notes
	if ferr != nil {
		r.Notes = append(r.Notes, "fault: "+ferr.Error())
	}
	if sc.Bad {
		r.BadCodes = s.badCodes
		s.badCodes = nil
	}
	sleepCtx(s.ctx, s.T.After)
	cancel()
	<-done
	pushes, skipped := s.Traffic.take()
	// Connections that end within Grace of a push put its pairs outside
	// the promise: wait that long before deciding who stayed connected.
	sleepCtx(s.ctx, s.T.Grace)
	in, _ := inPromise(s.Fleet, pushes, s.T.Grace)
	settle(in, s.T.Settle)
	account(&r, s.Fleet, pushes, skipped, faultAt, s.T.Grace)
	judge(&r, sc.Bad)
	r.Logs = s.C.complaints(marks)
	rec := sc.Recover
	if rec == nil {
		rec = func(s *Suite) error { return s.C.Healthy(60 * time.Second) }
	}
	if err := rec(s); err != nil {
		return r, fmt.Errorf("chaos: recover after %s: %w", sc.Name, err)
	}
	return r, nil
}

// faultBadPush posts three pushes with operation=9 back to back, each to
// a device on either edge, as a buggy caller would; good traffic goes on.
func faultBadPush(s *Suite) ([]string, error) {
	for i := 0; i < 3; i++ {
		code, err := s.Traffic.BadPush(2 * i)
		if err != nil {
			return nil, err
		}
		s.badCodes = append(s.badCodes, code)
	}
	return []string{fmt.Sprintf("3 pushes with operation=9 (to a device on each edge) answered codes %v", s.badCodes)}, nil
}

func faultJobRestart(s *Suite) ([]string, error) {
	s.C.Jobs[0].Kill()
	sleepCtx(s.ctx, time.Second)
	t0 := time.Now()
	if err := s.C.Jobs[0].Start(); err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("job-1 SIGKILLed, restarted 1 s later, ready in %.1f s", time.Since(t0).Seconds())}, nil
}

func faultEdgeKill(s *Suite) ([]string, error) {
	s.C.Edges[1].Kill()
	t0 := time.Now()
	err := s.Fleet.WaitConnected(30 * time.Second)
	return []string{fmt.Sprintf("edge-2 SIGKILLed; its devices were all connected to edge-1 again after %.1f s", time.Since(t0).Seconds())}, err
}

func faultEdgeDrain(s *Suite) ([]string, error) {
	t0 := time.Now()
	s.C.Edges[1].Stop() // SIGTERM, waits for the exit (SIGKILL after 10 s)
	return []string{fmt.Sprintf("edge-2 SIGTERMed (drain_delay %v, close_rate %d/s), exited after %.1f s",
		s.T.Settings.DrainDelay, s.T.Settings.CloseRate, time.Since(t0).Seconds())}, nil
}

func restartEdge2(s *Suite) error {
	if err := s.C.Edges[1].Start(); err != nil {
		return err
	}
	if err := s.C.Healthy(60 * time.Second); err != nil {
		return err
	}
	return s.Fleet.Rebalance(60 * time.Second)
}

func faultEdgeHung(s *Suite) ([]string, error) {
	if err := s.C.Edges[1].Signal(syscall.SIGSTOP); err != nil {
		return nil, err
	}
	sleepCtx(s.ctx, s.T.Hang)
	err := s.C.Edges[1].Signal(syscall.SIGCONT)
	return []string{fmt.Sprintf("edge-2 SIGSTOPped for %v, then SIGCONT", s.T.Hang)}, err
}

// faultEdgeSlow slows edge-2 by stopping it SlowStop in every
// SlowStop+SlowRun: its RPCs and writes stall as a slow but never-failing
// edge's do (SlowStop stays under job's rpc_timeout), without any
// test-only code in the server.
func faultEdgeSlow(s *Suite) ([]string, error) {
	end := time.Now().Add(s.T.Slow)
	cycles := 0
	for time.Now().Before(end) && s.ctx.Err() == nil {
		if err := s.C.Edges[1].Signal(syscall.SIGSTOP); err != nil {
			return nil, err
		}
		time.Sleep(s.T.SlowStop)
		if err := s.C.Edges[1].Signal(syscall.SIGCONT); err != nil {
			return nil, err
		}
		time.Sleep(s.T.SlowRun)
		cycles++
	}
	return []string{fmt.Sprintf("edge-2 stopped %v of every %v for %v (%d cycles)", s.T.SlowStop, s.T.SlowStop+s.T.SlowRun, s.T.Slow, cycles)}, nil
}

func faultEtcdStall(s *Suite) ([]string, error) {
	stall := s.T.Settings.LeaseTTL*3/2 + time.Second
	if err := s.C.Etcd.Signal(syscall.SIGSTOP); err != nil {
		return nil, err
	}
	sleepCtx(s.ctx, stall)
	err := s.C.Etcd.Signal(syscall.SIGCONT)
	return []string{fmt.Sprintf("etcd SIGSTOPped for %v (lease_ttl %v), then SIGCONT", stall, s.T.Settings.LeaseTTL)}, err
}

func faultRedisRestart(s *Suite) ([]string, error) {
	s.C.Redis.Kill()
	if err := s.C.Redis.Start(); err != nil {
		return nil, err
	}
	return []string{"redis-server SIGKILLed and restarted empty on the same port (no persistence)"}, nil
}

// reconnectAll reconnects every device so that routes lost with Redis are
// registered again before the next scenario, whatever the server does.
func reconnectAll(s *Suite) error {
	if err := s.C.Healthy(60 * time.Second); err != nil {
		return err
	}
	return s.Fleet.Reconnect(60 * time.Second)
}
