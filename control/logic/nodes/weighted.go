package nodes

import (
	"cmp"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/goim-edge/goim-edge/registry"
)

// PlatformWeb is the platform whose clients get host names (they dial
// WSS and need a name for the certificate); every other platform gets IPs.
const PlatformWeb = "web"

// Request is what the selection knows about the client.
type Request struct {
	Platform string
	ClientIP string
	// Region, when known (a header set by the edge proxy, say), overrides
	// the lookup of ClientIP in Config.Regions.
	Region string
}

// Result is goim's /goim/nodes/weighted data, field for field.
type Result struct {
	Domain       string   `json:"domain"`
	TCPPort      int      `json:"tcp_port"`
	WSPort       int      `json:"ws_port"`
	WSSPort      int      `json:"wss_port"`
	Heartbeat    int      `json:"heartbeat"`
	HeartbeatMax int      `json:"heartbeat_max"`
	Nodes        []string `json:"nodes"`
	Backoff      Backoff  `json:"backoff"`
}

// Candidate is an edge that can be offered, with its selection score.
type Candidate struct {
	Instance registry.Instance
	// Address is what the client is given: a host name for the web
	// platform, an IP otherwise.
	Address string
	Score   float64
}

// Rank scores the edges that can be offered to req and sorts them by
// score, highest first (ties by key). Draining edges and edges without a
// usable address for the platform are left out.
//
// The score of edge i is
//
//	score_i = w_i × g_i / (1 + L_i)²
//	L_i     = (c_i / w_i) / (Σc / Σw)    (0 when Σc = 0)
//
// where w is the edge's weight (registry.DefaultWeight when unset), c its
// connection count, g is Config.RegionWeight for edges in the client's
// region and 1 elsewhere, and the sums run over the offered edges. L is
// the edge's load relative to a perfectly weighted spread: 1 when the
// edge carries exactly its share. So with equal loads scores are
// proportional to weights; an empty edge scores 4× what it would at its
// fair share and an edge at twice its share 4/9 of it. Counts reach the
// registry only every few seconds, so the score steers new connections
// toward under-loaded edges without sending all of them to the emptiest
// one between two refreshes.
func Rank(instances []registry.Instance, req Request, cfg Config) []Candidate {
	cands := score(instances, req, cfg)
	slices.SortStableFunc(cands, func(a, b Candidate) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Instance.Key(), b.Instance.Key())
	})
	return cands
}

// score is Rank without the sorting: candidates in input order.
func score(instances []registry.Instance, req Request, cfg Config) []Candidate {
	region := clientRegion(req, cfg)
	gain := cfg.RegionWeight
	if gain <= 0 {
		gain = 1
	}
	cands := make([]Candidate, 0, len(instances))
	var sumConns, sumWeight float64
	for _, inst := range instances {
		if inst.Draining {
			continue
		}
		addr := address(inst, req.Platform, cfg)
		if addr == "" {
			continue
		}
		cands = append(cands, Candidate{Instance: inst, Address: addr})
		sumConns += float64(max(inst.Conns, 0))
		sumWeight += float64(inst.EffectiveWeight())
	}
	for i := range cands {
		inst := cands[i].Instance
		w := float64(inst.EffectiveWeight())
		load := 0.0
		if sumConns > 0 {
			load = (float64(max(inst.Conns, 0)) / w) / (sumConns / sumWeight)
		}
		g := 1.0
		if region != "" && inst.Region == region {
			g = gain
		}
		cands[i].Score = w * g / ((1 + load) * (1 + load))
	}
	return cands
}

// Weighted is the answer to GET /goim/nodes/weighted: up to
// cfg.NodeCount edges, drawn at random in proportion to their Rank score
// (weighted sampling without replacement), so concurrent clients spread
// over the edges instead of all trying the best-scored one first. With
// no edge to offer, nodes is [cfg.Domain] as in goim.
func Weighted(instances []registry.Instance, req Request, cfg Config) Result {
	return Select(instances, req, cfg, nil)
}

// Select is Weighted with its source of randomness; nil uses the global
// one. Tests pass a seeded source.
func Select(instances []registry.Instance, req Request, cfg Config, rnd *rand.Rand) Result {
	float := rand.Float64
	if rnd != nil {
		float = rnd.Float64
	}
	cands := score(instances, req, cfg)
	// Efraimidis–Spirakis: order by u^(1/score) for uniform u, i.e. by
	// -ln(u)/score ascending; item i comes first with probability
	// score_i / Σscore, and so on for the rest.
	keys := make([]float64, len(cands))
	for i, c := range cands {
		u := float()
		for u == 0 {
			u = float()
		}
		keys[i] = -math.Log(u) / c.Score
	}
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case keys[a] < keys[b]:
			return -1
		case keys[a] > keys[b]:
			return 1
		}
		return 0
	})
	n := max(cfg.NodeCount, 1)
	nodes := make([]string, 0, min(n, len(cands)))
	offered := make([]registry.Instance, 0, cap(nodes))
	seen := make(map[string]bool, len(cands))
	for _, i := range order {
		if len(nodes) == n {
			break
		}
		if addr := cands[i].Address; !seen[addr] {
			seen[addr] = true
			nodes = append(nodes, addr)
			offered = append(offered, cands[i].Instance)
		}
	}
	if len(nodes) == 0 && cfg.Domain != "" {
		nodes = append(nodes, cfg.Domain)
	}
	tcp, ws, wss := ports(offered, cfg)
	return Result{
		Domain:       cfg.Domain,
		TCPPort:      tcp,
		WSPort:       ws,
		WSSPort:      wss,
		Heartbeat:    int(cfg.Heartbeat / time.Second),
		HeartbeatMax: cfg.HeartbeatMax,
		Nodes:        nodes,
		Backoff:      cfg.Backoff,
	}
}

// address is what a client on platform dials for inst, or "" if the edge
// has nothing usable: web clients get the edge's Domain, else the host of
// its public WSS or WS address (edge.public_host), else its node name +
// HostDomain, else the host of its WS address; others get the host of its
// public TCP address, else of its TCP address. An empty or wildcard host
// is not an address a client can dial.
func address(inst registry.Instance, platform string, cfg Config) string {
	if platform == PlatformWeb {
		switch {
		case inst.Domain != "":
			return inst.Domain
		case inst.Public.WSS != "" || inst.Public.WS != "":
			return dialHost(cmp.Or(inst.Public.WSS, inst.Public.WS))
		case cfg.HostDomain != "":
			return inst.Node + cfg.HostDomain
		}
		return dialHost(inst.Addrs.WS)
	}
	return dialHost(cmp.Or(inst.Public.TCP, inst.Addrs.TCP))
}

// dialHost is the host part of hostport, or "" when it is missing or a
// wildcard (0.0.0.0, ::) that only makes sense to the listener.
func dialHost(hostport string) string {
	if hostport == "" {
		return ""
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "" {
		return ""
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		return ""
	}
	return host
}
