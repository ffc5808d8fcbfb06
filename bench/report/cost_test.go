package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewCost(t *testing.T) {
	before := Sample{
		Processes: []ProcessSample{
			{Role: "job", Name: "job-1", PID: 30, RSS: 50 << 20, CPUSeconds: 1},
			{Role: "edge", Name: "edge-1", PID: 10, RSS: 20 << 20, CPUSeconds: 2},
			{Role: "edge", Name: "edge-2", PID: 11, RSS: 20 << 20, CPUSeconds: 2},
			{Role: "redis", Name: "redis", PID: 40, RSS: 8 << 20, CPUSeconds: 5},
		},
		Redis: &RedisSample{UsedMemory: 1 << 20, Commands: 100},
	}
	after := Sample{
		Processes: []ProcessSample{
			{Role: "redis", Name: "redis", PID: 40, RSS: 9 << 20, CPUSeconds: 6},
			{Role: "edge", Name: "edge-1", PID: 10, RSS: 24 << 20, PSS: 16 << 20, CPUSeconds: 4, HeapInuse: 3 << 20, HeapKnown: true},
			// edge-2 restarted: a new pid, counted whole and noted.
			{Role: "edge", Name: "edge-2", PID: 12, RSS: 10 << 20, PSS: 4 << 20, CPUSeconds: 0.5},
			{Role: "job", Name: "job-1", PID: 30, RSS: 40 << 20, CPUSeconds: 4},
		},
		Redis: &RedisSample{UsedMemory: 3 << 20, Commands: 1100, Keys: 7},
		Etcd:  &EtcdSample{DBSize: 1 << 20, Watchers: 4},
	}
	c := NewCost("pushes", before, after, 2, 1024, 4000)

	var roles []string
	for _, r := range c.Roles {
		roles = append(roles, r.Role)
	}
	if got := strings.Join(roles, ","); got != "edge,job,redis" {
		t.Fatalf("roles %s, want edge,job,redis in the fixed order", got)
	}
	cases := []struct {
		role          string
		procs         int
		rss           uint64
		growth        int64
		cpu           float64
		heapAtLeastMB uint64
	}{
		{"edge", 2, 34 << 20, (24 - 20 + 10) << 20, 2 + 0.5, 3},
		{"job", 1, 40 << 20, -10 << 20, 3, 0},
		{"redis", 1, 9 << 20, 1 << 20, 1, 0},
	}
	for _, tc := range cases {
		r := c.Role(tc.role)
		if r == nil {
			t.Fatalf("no %s role", tc.role)
		}
		if r.Processes != tc.procs || r.RSS != tc.rss || r.RSSGrowth != tc.growth || r.CPUSeconds != tc.cpu || r.HeapInuse < tc.heapAtLeastMB<<20 {
			t.Errorf("%s: got %+v, want procs %d rss %d growth %d cpu %g", tc.role, *r, tc.procs, tc.rss, tc.growth, tc.cpu)
		}
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "edge-2") {
		t.Errorf("notes %q, want one about the restarted edge-2", c.Notes)
	}
	if c.Redis == nil || c.Redis.Commands != 1000 || c.Redis.UsedMemoryGrowth != 2<<20 || c.Redis.Keys != 7 {
		t.Errorf("redis %+v", c.Redis)
	}
	if c.Etcd == nil || c.Etcd.Watchers != 4 {
		t.Errorf("etcd %+v", c.Etcd)
	}
	if got, want := c.ServerRSS(), uint64((9+24+10+40)<<20); got != want {
		t.Errorf("server RSS %d, want %d", got, want)
	}
	if e := c.Role("edge"); e.PSS != 20<<20 {
		t.Errorf("edge PSS %d, want the sum of its processes'", e.PSS)
	}
	if m, pss := c.ServerMemory(); pss || m != c.ServerRSS() {
		t.Errorf("server memory %d pss %v: with a role's PSS unknown it is the RSS sum", m, pss)
	}

	var b bytes.Buffer
	costTable(&b, c)
	md := b.String()
	for _, want := range []string{
		"| edge | 2 | 34.0 MiB | 20.0 MiB | 10.0 MiB | 14.00 KiB |",
		// PSS unknown for the job: no PSS, and no whole-system PSS.
		"| job | 1 | 40.0 MiB | – | – | −10.00 KiB |",
		"| **all** | 4 | 83.0 MiB | – |",
		"RSS (PSS unknown) 83.0 MiB for 1024 devices",
		"1.62 ms", // all roles' 6.5 s over 4,000 deliveries
		"625 µs",  // edge CPU 2.5 s over 4,000 deliveries
		"1k commands (500/s)",
		"edge-2",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
