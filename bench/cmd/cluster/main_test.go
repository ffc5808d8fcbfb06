package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goim-edge/goim-edge/bench/cluster"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// bin is the goim-edge binary built once for this package's tests.
var bin string

func TestMain(m *testing.M) {
	testenv.MainWithBinary(m, "goim-cluster-cmd-test-", &bin)
}

// cmd runs the command in this process and returns its output and exit
// code.
func cmd(args ...string) (string, int) {
	var out bytes.Buffer
	code := run(context.Background(), args, &out, &out)
	return out.String(), code
}

func must(t *testing.T, args ...string) string {
	t.Helper()
	out, code := cmd(args...)
	if code != 0 {
		t.Fatalf("cluster %v: exit %d\n%s", args, code, out)
	}
	return out
}

// upAt starts a one-edge cluster on free ports in dir, stopped at cleanup.
func upAt(t *testing.T, dir string) *cluster.State {
	t.Helper()
	out := must(t, "up", "-free-ports", "-edges", "1", "-dir", dir, "-bin", bin, "-log-level", "warn")
	if !strings.Contains(out, "cluster: folder "+dir) || !strings.Contains(out, "edge-1        tcp 127.0.0.1:") {
		t.Fatalf("up printed:\n%s", out)
	}
	t.Cleanup(func() { cmd("down", "-dir", dir, "-grace", "5s") })
	st, err := cluster.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 5 {
		t.Fatalf("state has %d nodes, want 5", len(st.Nodes))
	}
	return st
}

// TestTwoClustersSeparate: two clusters in two folders have two states;
// down of one stops exactly its processes and leaves the other running.
func TestTwoClustersSeparate(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	s1, s2 := upAt(t, d1), upAt(t, d2)

	if out, code := cmd("up", "-free-ports", "-dir", d1, "-bin", bin); code == 0 || !strings.Contains(out, "already up at "+d1) {
		t.Fatalf("second up in %s: exit %d\n%s", d1, code, out)
	}
	st := must(t, "status", "-dir", d1)
	if strings.Count(st, " running ") != 5 || strings.Contains(st, "503") || strings.Contains(st, "000") {
		t.Fatalf("status:\n%s", st)
	}

	down := must(t, "down", "-dir", d1)
	for _, n := range s1.Nodes {
		if cluster.Alive(n) {
			t.Errorf("%s of cluster 1 still runs after its down", n.Name)
		}
		if !strings.Contains(down, fmt.Sprintf("stopped %s (pid %d)", n.Name, n.PID)) {
			t.Errorf("down did not report %s:\n%s", n.Name, down)
		}
	}
	for _, n := range s2.Nodes {
		if !cluster.Alive(n) {
			t.Errorf("%s of cluster 2 stopped by cluster 1's down", n.Name)
		}
	}
	if out := must(t, "status", "-dir", d1); !strings.Contains(out, "no cluster is up") {
		t.Fatalf("status after down:\n%s", out)
	}
	if out := must(t, "status", "-dir", d2); strings.Count(out, " running ") != 5 {
		t.Fatalf("cluster 2 status:\n%s", out)
	}
	must(t, "down", "-dir", d2)
	for _, n := range s2.Nodes {
		if cluster.Alive(n) {
			t.Errorf("%s of cluster 2 still runs after its down", n.Name)
		}
	}
}

// TestDownSparesOtherProcesses: a recorded pid that now runs another
// program, or the same program started at another time, is not signalled.
func TestDownSparesOtherProcesses(t *testing.T) {
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	pid := sleep.Process.Pid
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st := fmt.Sprintf(`{"dir": %q, "nodes": [
		{"role": "edge", "name": "edge-1", "pid": %d, "exe": "/opt/goim-edge", "args": ["/opt/goim-edge", "edge"]},
		{"role": "job", "name": "job-1", "pid": %d, "exe": %q, "start_time": 1, "args": ["sleep", "60"]}]}`, dir, pid, pid, exe)
	if err := os.WriteFile(filepath.Join(dir, cluster.StateFile), []byte(st), 0o644); err != nil {
		t.Fatal(err)
	}
	out := must(t, "down", "-dir", dir, "-grace", "1s")
	if strings.Contains(out, "stopped") {
		t.Fatalf("down stopped something:\n%s", out)
	}
	if sleep.ProcessState != nil || exec.Command("kill", "-0", fmt.Sprint(pid)).Run() != nil {
		t.Fatal("down killed an unrelated process")
	}
}

func TestDefaultDirPerOffset(t *testing.T) {
	if defaultDir(0) == defaultDir(5000) || !strings.HasSuffix(defaultDir(5000), "goim-edge-cluster-5000") {
		t.Fatalf("default folders %q and %q", defaultDir(0), defaultDir(5000))
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"sideways"}, {"up", "-nope"}, {"status", "extra"}} {
		if _, code := cmd(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	mine := t.TempDir()
	if err := os.WriteFile(filepath.Join(mine, "notes.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := cmd("up", "-free-ports", "-dir", mine, "-bin", bin); code != 1 || !strings.Contains(out, "holds no earlier cluster") {
		t.Errorf("up in a foreign folder: exit %d\n%s", code, out)
	}
	if out, code := cmd("up", "-queue", "nats", "-free-ports", "-dir", t.TempDir(), "-bin", bin); code != 1 || !strings.Contains(out, "Queue") {
		t.Errorf("bad queue: exit %d\n%s", code, out)
	}
}
