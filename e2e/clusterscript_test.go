package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clusterOffsets move deploy/local/cluster.sh's fixed ports (3101…,
// 22379, 26379) away from the real ones and below the kernel's ephemeral
// range (32768…), where the free ports other tests pick live. The first
// offset whose ports are all free is used.
var clusterOffsets = []int{5000, 5250, 5500, 5750, 6000, 6250}

func runClusterScript(tmp string, offset int, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{"../deploy/local/cluster.sh"}, args...)...)
	cmd.Env = append(cleanEnv(), "TMPDIR="+tmp, "CLUSTER_PORT_OFFSET="+strconv.Itoa(offset), "CLUSTER_BIN="+bin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func clusterScript(t *testing.T, tmp string, offset int, args ...string) string {
	t.Helper()
	out, err := runClusterScript(tmp, offset, args...)
	if err != nil {
		t.Fatalf("cluster.sh %v: %v\n%s", args, err, out)
	}
	return out
}

// clusterFolder is where cluster.sh keeps the cluster on port offset off
// (state.json, conf, logs, data) when TMPDIR is tmp.
func clusterFolder(tmp string, off int) string {
	return filepath.Join(tmp, fmt.Sprintf("goim-edge-cluster-%d", off))
}

// clusterUp reports whether cluster.sh's state says a cluster is up.
func clusterUp(tmp string, off int) bool {
	_, err := os.Stat(filepath.Join(clusterFolder(tmp, off), "state.json"))
	return err == nil
}

// clusterPID is the pid the cluster's state.json records for node name.
func clusterPID(t *testing.T, dir, name string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Nodes []struct {
			Name string `json:"name"`
			PID  int    `json:"pid"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("state.json: %v", err)
	}
	for _, n := range st.Nodes {
		if n.Name == name {
			return n.PID
		}
	}
	t.Fatalf("state.json has no %s:\n%s", name, raw)
	return 0
}

// at is 127.0.0.1 and the cluster.sh port p moved by offset.
func at(offset, p int) string { return "127.0.0.1:" + strconv.Itoa(p+offset) }

// TestClusterScript runs deploy/local/cluster.sh (a wrapper of
// bench/cmd/cluster) up, status and down as a person would, pushes through the cluster it started, and checks that
// down stopped exactly the processes up started.
func TestClusterScript(t *testing.T) {
	tmp := t.TempDir()
	var out string
	off := -1
	for _, o := range clusterOffsets {
		var err error
		out, err = runClusterScript(tmp, o, "up")
		if err == nil {
			off = o
			break
		}
		if !strings.Contains(out, "ports already in use") {
			t.Fatalf("cluster.sh up: %v\n%s", err, out)
		}
		t.Logf("offset %d: %s", o, strings.TrimSpace(out))
	}
	if off < 0 {
		t.Fatalf("no free port set for cluster.sh among offsets %v", clusterOffsets)
	}
	t.Cleanup(func() {
		// A failed test must not leave the cluster running.
		if clusterUp(tmp, off) {
			clusterScript(t, tmp, off, "down")
		}
	})
	m := regexp.MustCompile(`cluster: folder (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("up did not print its folder:\n%s", out)
	}
	dir := m[1]
	if dir != clusterFolder(tmp, off) {
		t.Errorf("folder %s, want %s (one per port offset)", dir, clusterFolder(tmp, off))
	}
	for _, f := range []string{"logs/logic.log", "logs/edge-1.log", "conf/edge-2.toml", "data/etcd", "state.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("up did not create %s: %v", f, err)
		}
	}

	status := clusterScript(t, tmp, off, "status")
	pids := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(\S+)\s+pid (\d+)\s+running`).FindAllStringSubmatch(status, -1) {
		pids[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(pids) != 6 || strings.Contains(status, "readyz 503") {
		t.Fatalf("status:\n%s", status)
	}

	// A device on edge-2 gets a push sent to logic's HTTP port.
	dev := dial(t, "device", at(off, 3201), 5, "", "live://1")
	httpPush(t, at(off, 3111), "/goim/push/room", map[string][]string{"operation": {"1000"}, "type": {"live"}, "room": {"1"}}, "via-script")
	dev.expect(1000, "via-script", 10*time.Second)

	// The demo page on logic points browsers at edge-1.
	resp, err := http.Get("http://" + at(off, 3111) + "/demo/config.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(cfg), `"ws_url":"ws://`+at(off, 3102)+`/sub"`) {
		t.Fatalf("demo config: %s", cfg)
	}

	down := clusterScript(t, tmp, off, "down")
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) still runs after down", name, pid)
		}
		if !strings.Contains(down, "stopped "+name) {
			t.Errorf("down did not report stopping %s:\n%s", name, down)
		}
	}
	if !strings.Contains(clusterScript(t, tmp, off, "status"), "no cluster is up") {
		t.Fatal("status after down still sees a cluster")
	}
}

// alive reports whether pid runs: it exists and is not a zombie (the
// shell that started it is gone, and reaping is up to init).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
