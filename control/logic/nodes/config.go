// Package nodes chooses the edges a client should connect to: the data
// behind goim's GET /goim/nodes/weighted and /goim/nodes/instances.
package nodes

import (
	"fmt"
	"net/netip"
	"time"
)

// Backoff is the reconnect policy handed to clients (goim's shape):
// delays in seconds, growing by Factor with ±Jitter, capped at MaxDelay.
type Backoff struct {
	MaxDelay  int     `toml:"max_delay" json:"max_delay"`
	BaseDelay int     `toml:"base_delay" json:"base_delay"`
	Factor    float64 `toml:"factor" json:"factor"`
	Jitter    float64 `toml:"jitter" json:"jitter"`
}

// Config is the node selection's configuration.
type Config struct {
	// Domain is the fallback address given to clients when no edge can
	// be offered (goim's default_domain).
	Domain string `toml:"domain"`
	// HostDomain names the web address of an edge that registered no
	// Domain of its own: node name + HostDomain (goim's host_domain).
	HostDomain string `toml:"host_domain"`
	// Ports clients dial; one set for the whole cluster, as in goim.
	TCPPort int `toml:"tcp_port"`
	WSPort  int `toml:"ws_port"`
	WSSPort int `toml:"wss_port"`
	// Heartbeat is the client heartbeat interval (sent in whole seconds);
	// HeartbeatMax is how many may be missed before the edge closes.
	Heartbeat    time.Duration `toml:"heartbeat"`
	HeartbeatMax int           `toml:"heartbeat_max"`
	// NodeCount is the most edges offered per request.
	NodeCount int `toml:"node_count"`
	// RegionWeight multiplies the score of edges in the client's region;
	// 1 disables the preference, a large value makes it nearly strict.
	RegionWeight float64 `toml:"region_weight"`
	// Regions maps a region name to the client networks (CIDRs) located
	// there, for requests that do not state their region. goim used an
	// IP-to-province database; a CIDR table needs no external data.
	Regions map[string][]string `toml:"regions"`
	Backoff Backoff             `toml:"backoff"`
}

// DefaultConfig returns goim's defaults.
func DefaultConfig() Config {
	return Config{
		Domain:       "conn.goim.io",
		HostDomain:   ".goim.io",
		TCPPort:      3101,
		WSPort:       3102,
		WSSPort:      3103,
		Heartbeat:    4 * time.Minute,
		HeartbeatMax: 2,
		NodeCount:    5,
		RegionWeight: 1.6,
		Backoff:      Backoff{MaxDelay: 300, BaseDelay: 3, Factor: 1.8, Jitter: 0.3},
	}
}

// Validate reports configuration mistakes, such as a CIDR that does not
// parse, that would otherwise be ignored at request time.
func (c Config) Validate() error {
	if c.NodeCount < 1 {
		return fmt.Errorf("nodes: node_count %d: must be at least 1", c.NodeCount)
	}
	if c.RegionWeight < 0 {
		return fmt.Errorf("nodes: region_weight %v: must not be negative", c.RegionWeight)
	}
	if c.Heartbeat < time.Second || c.HeartbeatMax < 1 {
		return fmt.Errorf("nodes: heartbeat %v x %d: need at least 1s x 1", c.Heartbeat, c.HeartbeatMax)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"tcp_port", c.TCPPort}, {"ws_port", c.WSPort}, {"wss_port", c.WSSPort}} {
		if p.v < 0 || p.v > 65535 {
			return fmt.Errorf("nodes: %s %d out of range", p.name, p.v)
		}
	}
	for region, cidrs := range c.Regions {
		for _, s := range cidrs {
			if _, err := netip.ParsePrefix(s); err != nil {
				return fmt.Errorf("nodes: regions.%s: %w", region, err)
			}
		}
	}
	return nil
}
