package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/bench/report"
	"github.com/goim-edge/goim-edge/bench/standalone"
	"github.com/goim-edge/goim-edge/bench/worker"
)

// TestMain makes the test binary a worker when the bench re-executes it,
// exactly as the bench binary does.
func TestMain(m *testing.M) {
	worker.ServeIfChild()
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// serverBin builds the real goim-edge binary from the module root, once
// per test binary.
func serverBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		dir, err := os.MkdirTemp("", "bench-server-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "goim-edge")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build goim-edge: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func runBench(t *testing.T, args ...string) (*report.Report, string) {
	t.Helper()
	return runBenchIn(t, t.TempDir(), args...)
}

// runBenchIn is runBench writing its report into out.
func runBenchIn(t *testing.T, out string, args ...string) (*report.Report, string) {
	t.Helper()
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := run(ctx, append(args, "-out", out, "-strict"), &stderr)
	if code != 0 {
		t.Fatalf("bench exit %d:\n%s", code, stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("## Summary")) {
		t.Fatalf("report.md: %v", err)
	}
	return &r, stderr.String()
}

// TestAgainstRealServer runs tiny scenarios against a fresh `goim-edge
// standalone` built from this module: every expected message must arrive
// exactly once. Figures are not asserted.
func TestAgainstRealServer(t *testing.T) {
	srv, err := standalone.Start(context.Background(), serverBin(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if srv.MetricsURL == "" {
		t.Fatal("the server exposes no Go heap metrics")
	}
	server := []string{"-tcp", srv.TCP, "-ws", srv.WS, "-http", srv.HTTP, "-rpc", srv.RPC,
		"-target-pid", strconv.Itoa(srv.PID), "-metrics", srv.MetricsURL}
	cases := []struct {
		name   string
		args   []string
		expect int64
	}{
		{"room-fanout tcp, child worker process", []string{"-scenario", "room-fanout", "-conns", "50", "-rate", "40", "-duration", "2s", "-procs", "1"}, 50 * 80},
		{"room-fanout ws over 2 rooms", []string{"-scenario", "room-fanout", "-transport", "ws", "-rooms", "2", "-conns", "50", "-rate", "40", "-duration", "2s", "-procs", "0"}, 25 * 80},
		{"push-keys tcp over http", []string{"-scenario", "push-keys", "-conns", "50", "-rate", "200", "-duration", "2s", "-procs", "0"}, 400},
		{"push-keys ws by mids over kitex", []string{"-scenario", "push-keys", "-transport", "ws", "-by", "mids", "-via", "kitex", "-conns", "50", "-rate", "200", "-duration", "2s", "-procs", "0"}, 400},
		{"room-fanout tcp, positioned devices", []string{"-scenario", "room-fanout", "-resume", "-conns", "50", "-rate", "40", "-duration", "2s", "-procs", "0"}, 50 * 80},
		{"room-fanout tcp, goroutine engine, child worker process", []string{"-scenario", "room-fanout", "-device-engine", "goroutine", "-conns", "50", "-rate", "40", "-duration", "2s", "-procs", "1"}, 50 * 80},
		{"room-fanout tcp, positioned devices, goroutine engine", []string{"-scenario", "room-fanout", "-resume", "-device-engine", "goroutine", "-conns", "50", "-rate", "40", "-duration", "2s", "-procs", "0"}, 50 * 80},
		{"broadcast tcp", []string{"-scenario", "broadcast", "-conns", "50", "-rate", "2", "-duration", "2s", "-speed", "1000", "-procs", "0"}, 4 * 50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, stderr := runBench(t, append(server, c.args...)...)
			if len(r.Results) != 1 {
				t.Fatalf("results: %+v", r.Results)
			}
			res := r.Results[0]
			if res.Error != "" {
				t.Fatalf("run failed: %s\n%s", res.Error, stderr)
			}
			engine := "poll"
			if strings.Contains(c.name, "goroutine engine") {
				engine = "goroutine"
			}
			if got := res.Params["device_engine"]; res.Params["transport"] == "tcp" && got != engine {
				t.Fatalf("device_engine param %q, want %s", got, engine)
			}
			d := res.Delivery
			if res.Connections.Up != 50 || d == nil || !d.Complete || d.Expected != c.expect || d.Delivered != c.expect {
				t.Fatalf("connections %+v delivery %+v\n%s", res.Connections, d, stderr)
			}
			if res.Latency == nil || res.Latency.Count != c.expect || res.Server == nil || res.Server.CPUSeconds <= 0 {
				t.Fatalf("latency %+v server %+v", res.Latency, res.Server)
			}
			// Positioned devices get one verdict per stream at connect
			// (this server keeps no history: they are not recovered).
			if contains(c.args, "-resume") && (res.Resume == nil || verdicts(res.Resume.Verdicts, "room ") != 50 || verdicts(res.Resume.Verdicts, "user ") != 50) {
				t.Fatalf("resume %+v", res.Resume)
			}
			if !strings.Contains(stderr, "up 50/50") {
				t.Fatalf("no progress line in:\n%s", stderr)
			}
		})
	}
}

// verdicts sums the verdict counts whose key starts with prefix.
func verdicts(m map[string]int, prefix string) int {
	n := 0
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// TestIdleAndStormAgainstRealServer runs the quick standard set's idle and
// connect-storm scenarios, each against its own fresh server started by
// the bench from -server-bin.
func TestIdleAndStormAgainstRealServer(t *testing.T) {
	bin := serverBin(t)
	r, stderr := runBench(t, "-server-bin", bin, "-standard", "-quick", "-only", "idle,connect-storm")
	if len(r.Results) != 3 {
		t.Fatalf("want idle tcp, idle ws, connect-storm; got %d results\n%s", len(r.Results), stderr)
	}
	if !strings.Contains(r.Server, "fresh") {
		t.Fatalf("server %q", r.Server)
	}
	for _, res := range r.Results {
		if res.Error != "" {
			t.Fatalf("%s: %s", res.Label, res.Error)
		}
		if res.Connections == nil || res.Connections.Up != res.Connections.Target || res.Connections.Up == 0 {
			t.Fatalf("%s: connections %+v", res.Label, res.Connections)
		}
		if res.Scenario == "idle" {
			m := res.Memory
			if m == nil || !m.HeapKnown || m.RSSAfter == 0 || m.HeapAfter == 0 {
				t.Fatalf("%s: memory %+v notes %v (the server must expose go_memstats_heap_inuse_bytes)", res.Label, m, res.Notes)
			}
		}
	}
	if r.Machine.CPUs == 0 || r.Server == "" {
		t.Fatalf("machine %+v server %q", r.Machine, r.Server)
	}
}

func TestFlags(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "give -scenario"},
		{[]string{"-standard"}, 2, "need -server-bin"},
		{[]string{"-standard", "-server-bin", "x", "-scenario", "idle"}, 2, "-only"},
		{[]string{"-recovery"}, 2, "need -server-bin"},
		{[]string{"-recovery", "-standard", "-server-bin", "x"}, 2, "not both"},
		{[]string{"-scenario", "resume-storm", "-server-config", "x.toml"}, 2, "-server-config needs -server-bin"},
		{[]string{"-scenario", "idle", "extra"}, 2, "unexpected arguments"},
		{[]string{"-h"}, 0, "usage: bench"},
	}
	for _, c := range cases {
		var stderr bytes.Buffer
		if code := run(context.Background(), c.args, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, want %d; stderr %q lacks %q", c.args, code, c.code, stderr.String(), c.want)
		}
	}
	// A scenario that cannot run still writes a report naming the problem.
	out := t.TempDir()
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-scenario", "idle", "-out", out}, &stderr)
	if code != 1 {
		t.Fatalf("idle without pid: exit %d", code)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !bytes.Contains(md, []byte("target-pid")) {
		t.Fatalf("report does not explain:\n%s", md)
	}
}
