package nodes

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/registry"
)

// edge is an edge in region sh with TCP on ip and the given load.
func edge(node, ip string, weight, conns int) registry.Instance {
	return registry.Instance{Env: "test", Service: registry.ServiceEdge, Region: "sh", Node: node,
		Addrs:  registry.Addrs{TCP: ip + ":3101", WS: ip + ":3102"},
		Weight: weight, Conns: conns}
}

func in(region string, i registry.Instance) registry.Instance { i.Region = region; return i }

func draining(i registry.Instance) registry.Instance { i.Draining = true; return i }

type scored struct {
	addr  string
	score float64
}

func TestRank(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Regions = map[string][]string{"bj": {"10.1.0.0/16"}, "sh": {"10.2.0.0/16"}, "sh-special": {"10.2.3.0/24"}}
	noTCP := edge("notcp", "10.0.0.9", 10, 0)
	noTCP.Addrs.TCP = ""
	wildcard := edge("wild", "0.0.0.0", 10, 0)
	withDomain := edge("d1", "10.0.0.1", 10, 0)
	withDomain.Domain = "d1.example.com"

	cases := []struct {
		name      string
		instances []registry.Instance
		req       Request
		cfg       Config
		want      []scored
	}{
		{"no load: score = weight, ties by key",
			[]registry.Instance{edge("b", "10.0.0.2", 10, 0), edge("a", "10.0.0.1", 10, 0), edge("c", "10.0.0.3", 30, 0)},
			Request{}, cfg,
			[]scored{{"10.0.0.3", 30}, {"10.0.0.1", 10}, {"10.0.0.2", 10}}},
		{"unset weight counts as default",
			[]registry.Instance{edge("a", "10.0.0.1", 0, 0), edge("b", "10.0.0.2", 20, 0)},
			Request{}, cfg,
			[]scored{{"10.0.0.2", 20}, {"10.0.0.1", registry.DefaultWeight}}},
		{"load exactly proportional to weight: L=1, score = w/4",
			[]registry.Instance{edge("a", "10.0.0.1", 10, 100), edge("b", "10.0.0.2", 30, 300)},
			Request{}, cfg,
			[]scored{{"10.0.0.2", 7.5}, {"10.0.0.1", 2.5}}},
		{"empty edge beside a loaded one: L=0 and L=2",
			[]registry.Instance{edge("a", "10.0.0.1", 10, 200), edge("b", "10.0.0.2", 10, 0)},
			Request{}, cfg,
			[]scored{{"10.0.0.2", 10}, {"10.0.0.1", 10.0 / 9}}},
		{"draining edge skipped and not counted in the load",
			[]registry.Instance{edge("a", "10.0.0.1", 10, 100), draining(edge("b", "10.0.0.2", 10, 5000)), edge("c", "10.0.0.3", 10, 100)},
			Request{}, cfg,
			[]scored{{"10.0.0.1", 2.5}, {"10.0.0.3", 2.5}}},
		{"stated region gains region_weight",
			[]registry.Instance{edge("a", "10.0.0.1", 10, 0), in("bj", edge("b", "10.0.0.2", 10, 0))},
			Request{Region: "bj"}, cfg,
			[]scored{{"10.0.0.2", 16}, {"10.0.0.1", 10}}},
		{"region from client IP",
			[]registry.Instance{edge("a", "10.0.0.1", 10, 0), in("bj", edge("b", "10.0.0.2", 10, 0))},
			Request{ClientIP: "10.1.7.7"}, cfg,
			[]scored{{"10.0.0.2", 16}, {"10.0.0.1", 10}}},
		{"most specific CIDR wins",
			[]registry.Instance{edge("a", "10.0.0.1", 10, 0), in("sh-special", edge("b", "10.0.0.2", 10, 0))},
			Request{ClientIP: "10.2.3.4"}, cfg,
			[]scored{{"10.0.0.2", 16}, {"10.0.0.1", 10}}},
		{"IPv4-mapped client IP",
			[]registry.Instance{edge("a", "10.0.0.1", 10, 0), in("bj", edge("b", "10.0.0.2", 10, 0))},
			Request{ClientIP: "::ffff:10.1.0.1"}, cfg,
			[]scored{{"10.0.0.2", 16}, {"10.0.0.1", 10}}},
		{"unknown client region: no preference",
			[]registry.Instance{edge("a", "10.0.0.1", 10, 0), in("bj", edge("b", "10.0.0.2", 10, 0))},
			Request{ClientIP: "192.168.1.1"}, cfg,
			// Equal scores: key order, /test/goim.edge/bj/b before .../sh/a.
			[]scored{{"10.0.0.2", 10}, {"10.0.0.1", 10}}},
		{"region preference against load",
			[]registry.Instance{edge("a", "10.0.0.1", 10, 0), in("bj", edge("b", "10.0.0.2", 10, 100))},
			Request{Region: "bj"}, cfg,
			// Σc/Σw = 5: L_a = 0, L_b = 2.
			[]scored{{"10.0.0.1", 10}, {"10.0.0.2", 16.0 / 9}}},
		{"edges without a dialable TCP address skipped",
			[]registry.Instance{noTCP, wildcard, edge("a", "10.0.0.1", 10, 0)},
			Request{Platform: "android"}, cfg,
			[]scored{{"10.0.0.1", 10}}},
		{"web: own domain, else node + host_domain",
			[]registry.Instance{withDomain, edge("e2", "10.0.0.2", 10, 0)},
			Request{Platform: PlatformWeb}, cfg,
			[]scored{{"d1.example.com", 10}, {"e2.goim.io", 10}}},
		{"web without host_domain: host of the WS address",
			[]registry.Instance{edge("e2", "10.0.0.2", 10, 0)},
			Request{Platform: PlatformWeb}, func() Config { c := cfg; c.HostDomain = ""; return c }(),
			[]scored{{"10.0.0.2", 10}}},
		{"nothing registered", nil, Request{}, cfg, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Rank(c.instances, c.req, c.cfg)
			if len(got) != len(c.want) {
				t.Fatalf("got %d candidates %+v, want %d", len(got), got, len(c.want))
			}
			for i, w := range c.want {
				if got[i].Address != w.addr || math.Abs(got[i].Score-w.score) > 1e-9 {
					t.Errorf("#%d: %s score %.4f, want %s %.4f", i, got[i].Address, got[i].Score, w.addr, w.score)
				}
			}
		})
	}
}

func TestSelect(t *testing.T) {
	cfg := DefaultConfig()
	many := make([]registry.Instance, 0, 8)
	for i := range 8 {
		many = append(many, edge(string(rune('a'+i)), "10.0.0."+string(rune('1'+i)), 10, i*10))
	}
	sameHost := []registry.Instance{edge("a", "10.0.0.1", 10, 0), edge("b", "10.0.0.1", 10, 0), edge("c", "10.0.0.2", 10, 0)}
	cases := []struct {
		name      string
		instances []registry.Instance
		cfg       Config
		wantLen   int
		wantNodes []string // exact, when set
	}{
		{"capped at node_count", many, cfg, 5, nil},
		{"fewer edges than node_count", many[:3], cfg, 3, nil},
		{"node_count 1", many, func() Config { c := cfg; c.NodeCount = 1; return c }(), 1, nil},
		{"one address per host", sameHost, cfg, 2, nil},
		{"none: fall back to the domain", nil, cfg, 1, []string{"conn.goim.io"}},
		{"all draining: fall back to the domain", []registry.Instance{draining(many[0])}, cfg, 1, []string{"conn.goim.io"}},
		{"none and no domain: empty list", nil, func() Config { c := cfg; c.Domain = ""; return c }(), 0, []string{}},
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Select(c.instances, Request{}, c.cfg, rnd)
			if res.Nodes == nil {
				t.Fatal("nodes is nil (would encode as null)")
			}
			if len(res.Nodes) != c.wantLen {
				t.Fatalf("nodes %v, want %d", res.Nodes, c.wantLen)
			}
			if c.wantNodes != nil && !slices.Equal(res.Nodes, c.wantNodes) {
				t.Fatalf("nodes %v, want %v", res.Nodes, c.wantNodes)
			}
			seen := map[string]bool{}
			for _, n := range res.Nodes {
				if seen[n] {
					t.Fatalf("duplicate %s in %v", n, res.Nodes)
				}
				seen[n] = true
			}
		})
	}
}

// TestSelectFollowsScores checks that the first node offered is drawn in
// proportion to the scores, so load spreads rather than piling onto the
// best edge, and that every edge appears in the full order.
func TestSelectFollowsScores(t *testing.T) {
	cfg := DefaultConfig()
	instances := []registry.Instance{
		edge("a", "10.0.0.1", 10, 0),   // score 10
		edge("b", "10.0.0.2", 10, 200), // Σc/Σw = 200/30: L = 3, score 10/16
		edge("c", "10.0.0.3", 10, 0),   // score 10
	}
	ranked := Rank(instances, Request{}, cfg)
	total := 0.0
	want := map[string]float64{}
	for _, c := range ranked {
		total += c.Score
	}
	for _, c := range ranked {
		want[c.Address] = c.Score / total
	}
	rnd := rand.New(rand.NewPCG(7, 11))
	const draws = 20000
	first := map[string]int{}
	for range draws {
		res := Select(instances, Request{}, cfg, rnd)
		if len(res.Nodes) != 3 {
			t.Fatalf("nodes %v", res.Nodes)
		}
		first[res.Nodes[0]]++
	}
	for addr, p := range want {
		got := float64(first[addr]) / draws
		if math.Abs(got-p) > 0.015 {
			t.Errorf("%s first in %.3f of draws, want %.3f", addr, got, p)
		}
	}
	t.Logf("first-choice shares: want %v, got %v of %d", want, first, draws)
}

func TestWeightedJSONShape(t *testing.T) {
	withWSS := edge("a", "10.0.0.1", 10, 0)
	withWSS.Addrs.WSS = "10.0.0.1:3103"
	res := Weighted([]registry.Instance{withWSS}, Request{Platform: "ios"}, DefaultConfig())
	const want = `{"domain":"conn.goim.io","tcp_port":3101,"ws_port":3102,"wss_port":3103,"heartbeat":240,"heartbeat_max":2,"nodes":["10.0.0.1"],"backoff":{"max_delay":300,"base_delay":3,"factor":1.8,"jitter":0.3}}`
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	tb, err := json.Marshal(res.Thrift())
	if err != nil {
		t.Fatal(err)
	}
	if string(tb) != want {
		t.Fatalf("thrift reply encodes differently:\n%s", tb)
	}
	web := Weighted([]registry.Instance{edge("a", "10.0.0.1", 10, 0)}, Request{Platform: PlatformWeb}, DefaultConfig())
	if !slices.Equal(web.Nodes, []string{"a.goim.io"}) {
		t.Fatalf("web nodes %v", web.Nodes)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	cases := map[string]func(*Config){
		"bad cidr":          func(c *Config) { c.Regions = map[string][]string{"sh": {"10.0.0.0/33"}} },
		"zero node count":   func(c *Config) { c.NodeCount = 0 },
		"negative gain":     func(c *Config) { c.RegionWeight = -1 },
		"no heartbeat":      func(c *Config) { c.Heartbeat = 0 },
		"zero missed beats": func(c *Config) { c.HeartbeatMax = 0 },
		"port out of range": func(c *Config) { c.WSPort = 70000 },
	}
	for name, mutate := range cases {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := DefaultConfig()
	c.Heartbeat = 30 * time.Second
	if got := Weighted(nil, Request{}, c).Heartbeat; got != 30 {
		t.Fatalf("heartbeat %d, want 30 (seconds)", got)
	}
}

func TestInstancesJSON(t *testing.T) {
	s, err := InstancesJSON(nil)
	if err != nil || s != "[]" {
		t.Fatalf("empty: %q %v", s, err)
	}
	list := []registry.Instance{edge("b", "10.0.0.2", 10, 3), draining(edge("a", "10.0.0.1", 10, 1))}
	s, err = InstancesJSON(list)
	if err != nil {
		t.Fatal(err)
	}
	var back []registry.Instance
	if err := json.Unmarshal([]byte(s), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0].Node != "a" || !back[0].Draining || back[1].Conns != 3 {
		t.Fatalf("round trip %+v", back)
	}
	if list[0].Node != "b" {
		t.Fatal("Instances reordered its argument")
	}
}
