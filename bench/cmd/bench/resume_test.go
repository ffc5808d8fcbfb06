package main

import (
	"strings"
	"testing"
)

// TestResumeStormAgainstRealServer runs the quick resume-storm of the
// recovery set against a fresh `goim-edge standalone` the bench starts
// with the history config it writes: every device reconnects with its
// positions and recovers every message pushed while it was away, exactly
// once. Times are not asserted.
func TestResumeStormAgainstRealServer(t *testing.T) {
	r, stderr := runBench(t, "-server-bin", serverBin(t), "-recovery", "-quick", "-only", "resume-storm")
	if len(r.Results) != 1 {
		t.Fatalf("results: %+v\n%s", r.Results, stderr)
	}
	res := r.Results[0]
	if res.Error != "" {
		t.Fatalf("run failed: %s\n%s", res.Error, stderr)
	}
	if !strings.HasSuffix(res.Params["server.config"], "history.toml") {
		t.Fatalf("params %v", res.Params)
	}
	n := res.Connections.Up
	rs, d := res.Resume, res.Delivery
	if n != 200 || rs == nil || d == nil {
		t.Fatalf("connections %+v resume %+v delivery %+v", res.Connections, rs, d)
	}
	if rs.Expect != 100 || rs.Reconnected != n || rs.Complete != n || len(rs.NotRecovered) != 0 || rs.Latency == nil || rs.Latency.Count != int64(n) || rs.AllSeconds <= 0 {
		t.Fatalf("resume %+v", rs)
	}
	// One room verdict per device per connect; only the reconnect's
	// recover anything (the room kept nothing at the first connect).
	if verdicts(rs.Verdicts, "room ") != 2*n || rs.Verdicts["room recovered"] < n || rs.Messages != int64(100*n) {
		t.Fatalf("verdicts %v, %d messages recovered", rs.Verdicts, rs.Messages)
	}
	if !d.Complete || d.Expected != int64(100*n) || d.Delivered != d.Expected || d.Duplicates != 0 {
		t.Fatalf("delivery %+v", d)
	}
	if rs.Reconnect == nil || rs.Reconnect.Up != n || len(res.Targets) != 2 {
		t.Fatalf("reconnect %+v targets %+v", rs.Reconnect, res.Targets)
	}
}
