package job

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" = valid
	}{
		{"members targeting", func(c *Config) { c.RoomTargeting = TargetMembers }, ""},
		{"batch window", func(c *Config) { c.RoomCoalesceWindow = 5 * time.Millisecond }, ""},
		{"no retries", func(c *Config) { c.Retries = 0 }, ""},
		{"zero rpc timeout", func(c *Config) { c.RPCTimeout = 0 }, "rpc_timeout"},
		{"negative retries", func(c *Config) { c.Retries = -1 }, "retries"},
		{"zero inflight", func(c *Config) { c.MaxInflightPerEdge = 0 }, "max_inflight_per_edge"},
		{"queue below lanes", func(c *Config) { c.EdgeQueue = c.MaxInflightPerEdge - 1 }, "edge_queue"},
		{"zero outbox bytes", func(c *Config) { c.EdgeQueueBytes = 0 }, "edge_queue_bytes"},
		{"unknown targeting", func(c *Config) { c.RoomTargeting = "some" }, "room_targeting"},
		{"members without refresh", func(c *Config) { c.RoomTargeting = TargetMembers; c.RoomsRefresh = 0 }, "rooms_refresh"},
		{"negative window", func(c *Config) { c.RoomCoalesceWindow = -1 }, "room_coalesce_window"},
		{"zero batch max", func(c *Config) { c.RoomBatchMax = 0 }, "room_batch_max"},
		{"zero breaker", func(c *Config) { c.BreakerFailures = 0 }, "breaker_failures"},
		{"zero probe", func(c *Config) { c.ProbeInterval = 0 }, "probe_interval"},
		{"no slow-call breaker", func(c *Config) { c.SlowCall = 0 }, ""},
		{"negative slow call", func(c *Config) { c.SlowCall = -1 }, "slow_call"},
		{"no grace", func(c *Config) { c.EdgeGrace = 0 }, ""},
		{"negative grace", func(c *Config) { c.EdgeGrace = -time.Second }, "edge_grace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate = %v, want ok", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	c := Config{RetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 35 * time.Millisecond}
	for n, want := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 3: 35 * time.Millisecond, 10: 35 * time.Millisecond} {
		if got := c.backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
	for range 100 {
		if j := jitter(10 * time.Millisecond); j < 5*time.Millisecond || j >= 10*time.Millisecond {
			t.Fatalf("jitter(10ms) = %v, want in [5ms, 10ms)", j)
		}
	}
}
