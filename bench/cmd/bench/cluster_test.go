package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goim-edge/goim-edge/bench/report"
)

// TestClusterBench runs the cluster bench at a tiny size, so it cannot
// rot: the scaling set at 1 and 2 edges (idle and room fan-out, each
// against a fresh cluster of real redis-server, etcd, logic, job and
// edges), then push by mid through Kitex and Redis on 2 edges. Every
// message must arrive exactly once (-strict), every role must be
// measured, and the scaling chart must be drawn. Figures are not
// asserted.
func TestClusterBench(t *testing.T) {
	bin := serverBin(t)
	out := t.TempDir()
	r, stderr := runBenchIn(t, out, "-server-bin", bin, "-scaling", "1,2", "-quick")
	if len(r.Results) != 4 {
		t.Fatalf("want idle and room-fanout at 1 and 2 edges, got %d results\n%s", len(r.Results), stderr)
	}
	for _, res := range r.Results {
		if res.Error != "" {
			t.Fatalf("%s: %s\n%s", res.Label, res.Error, stderr)
		}
		checkCost(t, &res, res.Params["edges"])
	}
	if _, err := os.Stat(filepath.Join(out, report.ScalingChart)); err != nil {
		t.Fatalf("no scaling chart: %v", err)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "## Scaling with the number of edges") {
		t.Fatalf("report has no scaling section:\n%s", md)
	}

	r, stderr = runBench(t, "-server-bin", bin, "-standard", "-cluster", "2", "-quick", "-only", "push-keys")
	if len(r.Results) != 1 || r.Results[0].Error != "" || r.Results[0].Params["by"] != "mids" {
		t.Fatalf("push-keys by mid on 2 edges: %+v\n%s", r.Results, stderr)
	}
	checkCost(t, &r.Results[0], "2")
	if c := r.Results[0].Cost; c.Redis == nil || c.Redis.Commands == 0 {
		t.Fatalf("push by mid ran no Redis commands: %+v", c.Redis)
	}
}

// checkCost asserts a cluster result measured every role, with the edge
// count it was run at.
func checkCost(t *testing.T, res *report.Result, edges string) {
	t.Helper()
	c := res.Cost
	if c == nil {
		t.Fatalf("%s: no per-role cost; notes %v", res.Label, res.Notes)
	}
	for _, role := range []string{"edge", "logic", "job", "redis", "etcd"} {
		r := c.Role(role)
		if r == nil || r.RSS == 0 {
			t.Fatalf("%s: role %s not measured: %+v", res.Label, role, c.Roles)
		}
	}
	if got := c.Role("edge").Processes; edges != "" && strings.TrimSpace(edges) != strconv.Itoa(got) {
		t.Fatalf("%s: %d edges measured, run at %s", res.Label, got, edges)
	}
	if c.Redis == nil || c.Etcd == nil || c.Etcd.Watchers == 0 {
		t.Fatalf("%s: backends redis %+v etcd %+v", res.Label, c.Redis, c.Etcd)
	}
}
