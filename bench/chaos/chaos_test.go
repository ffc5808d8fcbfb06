package chaos

import (
	"flag"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
)

var (
	full   = flag.Bool("chaos.full", false, "run every scenario at full length (make chaos) instead of the reduced set")
	outDir = flag.String("chaos.out", "", "directory for report.md and report.json (default: a temp dir)")
	only   = flag.String("chaos.only", "", "comma-separated scenarios to run instead of the mode's set (to try one fix)")
)

// reduced are the scenarios `make test` runs, each short.
var reduced = []string{"bad-push", "job-kill-restart", "edge-sigkill", "edge-sigterm-drain", "edge-hung", "edge-slow", "etcd-stall", "redis-restart-empty"}

// pending are scenarios whose promise waits for a fix in flight (the
// issue-12 bullet is in each scenario's Bullet). They run and are
// reported, loudly, but do not fail the test. The integrator removes a
// name once its fix has landed; a pending scenario that passes says so.
// On the code this suite was written against, job-kill-restart failed
// 1 run in 10 (one push by mid delivered twice) and etcd-stall 6 in 9
// (1 to 21 pairs lost); the others failed every run.
var pending = map[string]string{}

// bin is the goim-edge binary built for this run.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	testenv.MainWithBinary(m, "goim-chaos-", &bin)
}

// timings: the reduced run fits `make test` (under two minutes on a shared
// 2-core machine); the full run uses goim-edge's default lease and more
// devices, traffic and fault time. Grace (2 s, a hundred times the usual
// p99) decides who stayed connected; the drain delay is longer than it, so
// a drain that drops pushes shows as loss. The edge paces closes in 10 ms
// ticks of at least one connection, so close_rate is at least 100.
func timings(isFull bool) Timing {
	if isFull {
		return Timing{
			Devices: 600, Rooms: 20, Rate: 150,
			Before: 3 * time.Second, After: 8 * time.Second, Grace: 2 * time.Second, Settle: 20 * time.Second,
			Hang: 5 * time.Second, Slow: 8 * time.Second, SlowStop: 600 * time.Millisecond, SlowRun: 300 * time.Millisecond,
			Settings: Settings{LeaseTTL: 10 * time.Second, DrainDelay: 5 * time.Second, CloseRate: 100, ShutdownTimeout: 30 * time.Second, Stream: "chaos-push"},
		}
	}
	return Timing{
		Devices: 120, Rooms: 6, Rate: 100,
		Before: time.Second, After: 2 * time.Second, Grace: 2 * time.Second, Settle: 5 * time.Second,
		Hang: 3 * time.Second, Slow: 4 * time.Second, SlowStop: 300 * time.Millisecond, SlowRun: 300 * time.Millisecond,
		Settings: Settings{LeaseTTL: 2 * time.Second, DrainDelay: 3 * time.Second, CloseRate: 100, ShutdownTimeout: 15 * time.Second, Stream: "chaos-push"},
	}
}

// TestFaultSuite runs the scenarios on one cluster and asserts the
// delivery promise for every scenario not pending a fix.
func TestFaultSuite(t *testing.T) {
	mode, names := "reduced", reduced
	if *full {
		mode, names = "full", nil
		for _, sc := range Scenarios {
			names = append(names, sc.Name)
		}
	}
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	tm := timings(*full)
	out := *outDir
	if out == "" {
		out = t.TempDir()
	}
	s := NewSuite(t, bin, tm)
	rep := newReport(mode, tm, commit())
	for _, name := range names {
		sc, ok := scenario(name)
		if !ok {
			t.Fatalf("unknown scenario %q", name)
		}
		r, err := s.Run(sc)
		_, r.Pending = pending[name]
		rep.Results = append(rep.Results, r)
		t.Logf("%s: sent %d accepted %d expected %d delivered %d lost %d dup %d outside %d(%d) p50 %.1fms p99 %.1fms pass=%v %v %v",
			name, r.Sent, r.Accepted, r.Expected, r.Delivered, r.Lost, r.Duplicated, r.Outside, r.OutsideDelivered, r.P50ms, r.P99ms, r.Pass, r.Failures, r.Notes)
		if err != nil {
			_ = rep.Write(out)
			t.Fatalf("%v\n%s", err, s.C.Logs())
		}
	}
	if err := rep.Write(out); err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %s", filepath.Join(out, "report.md"))
	failed := false
	for _, r := range rep.Results {
		switch {
		case r.Pending && r.Pass:
			t.Logf("PENDING scenario %s PASSED this run: remove it from `pending` in bench/chaos/chaos_test.go once it passes run after run (some of these faults break the promise only sometimes)", r.Scenario)
		case r.Pending:
			t.Logf("PENDING scenario %s breaks the promise (waits for: %s): %s", r.Scenario, pending[r.Scenario], strings.Join(r.Failures, "; "))
		case !r.Pass:
			failed = true
			t.Errorf("scenario %s breaks the delivery promise: %s", r.Scenario, strings.Join(r.Failures, "; "))
		}
	}
	if failed {
		t.Logf("cluster logs:\n%s", s.C.Logs())
	}
}

func scenario(name string) (Scenario, bool) {
	for _, sc := range Scenarios {
		if sc.Name == name {
			return sc, true
		}
	}
	return Scenario{}, false
}

// commit names the tree the binary was built from, for the report.
func commit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
