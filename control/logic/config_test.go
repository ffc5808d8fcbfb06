package logic

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if d := DefaultConfig().HeartbeatDeadline(); d != 8*time.Minute {
		t.Fatalf("default heartbeat deadline = %v, want goim's 8m", d)
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"heartbeat", func(c *Config) { c.Heartbeat = 0 }, "heartbeat"},
		{"heartbeat max", func(c *Config) { c.HeartbeatMax = 0 }, "heartbeat_max"},
		{"route ttl", func(c *Config) { c.RouteTTL = -time.Second }, "route_ttl"},
		{"online ttl", func(c *Config) { c.OnlineTTL = 0 }, "online_ttl"},
		{"call timeout", func(c *Config) { c.CallTimeout = 0 }, "call_timeout"},
		{"receive timeout", func(c *Config) { c.Receive = ReceiveConfig{URL: "http://x", Timeout: 0, Parallel: 1} }, "receive.timeout"},
		{"receive parallel", func(c *Config) { c.Receive.Parallel = 0 }, "receive.parallel"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want mention of %q", c.name, err, c.want)
		}
	}
}

func TestNewNeedsDeps(t *testing.T) {
	_, err := New(DefaultConfig(), Deps{})
	if err == nil || !strings.Contains(err.Error(), "store") || !strings.Contains(err.Error(), "queue") || !strings.Contains(err.Error(), "auth") {
		t.Fatalf("New without deps: %v", err)
	}
}

func TestConfigValidatesNodes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Nodes.Regions = map[string][]string{"sh": {"not a cidr"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "regions.sh") {
		t.Fatalf("bad region CIDR: %v", err)
	}
}
