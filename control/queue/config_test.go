package queue

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"default", func(*Config) {}, ""},
		{"redis and kafka side by side", func(c *Config) { c.Kind = KindRedis; c.Consume = []string{KindRedis, KindKafka} }, ""},
		{"unknown kind", func(c *Config) { c.Kind = "nats" }, "unknown kind"},
		{"unknown consume kind", func(c *Config) { c.Consume = []string{"rabbit"} }, "unknown kind"},
		{"twice", func(c *Config) { c.Consume = []string{KindRedis, KindRedis} }, "twice"},
		{"redis without stream", func(c *Config) { c.Kind = KindRedis; c.Redis.Stream = "" }, "redis needs"},
		{"redis without any address", func(c *Config) { c.Kind = KindRedis; c.Redis.Addr = "" }, "addr"},
		{"redis cluster", func(c *Config) { c.Kind = KindRedis; c.Redis.Addr = ""; c.Redis.Addrs = []string{"10.0.0.1:6379"} }, ""},
		{"redis sentinel waiting for a replica", func(c *Config) {
			c.Kind = KindRedis
			c.Redis.MasterName, c.Redis.SentinelAddrs, c.Redis.WaitReplicas = "m", []string{"10.0.0.1:26379"}, 1
		}, ""},
		{"redis sentinel without sentinels", func(c *Config) { c.Kind = KindRedis; c.Redis.MasterName = "m" }, "sentinel_addrs"},
		{"redis cluster waiting for replicas", func(c *Config) {
			c.Kind = KindRedis
			c.Redis.Addrs = []string{"10.0.0.1:6379"}
			c.Redis.WaitReplicas = 1
		}, ""},
		{"redis shards 4", func(c *Config) { c.Kind = KindRedis; c.Redis.Shards = 4 }, ""},
		{"redis shards 256", func(c *Config) { c.Kind = KindRedis; c.Redis.Shards = 256 }, ""},
		{"redis shards 0", func(c *Config) { c.Kind = KindRedis; c.Redis.Shards = 0 }, "shards 0: want 1 to 256"},
		{"redis shards 257", func(c *Config) { c.Kind = KindRedis; c.Redis.Shards = 257 }, "shards 257: want 1 to 256"},
		{"redis shards negative", func(c *Config) { c.Kind = KindRedis; c.Redis.Shards = -2 }, "want 1 to 256"},
		{"redis shards consumed only", func(c *Config) { c.Consume = []string{KindRedis}; c.Redis.Shards = 1000 }, "want 1 to 256"},
		{"redis sharded stream with its own tag", func(c *Config) { c.Kind = KindRedis; c.Redis.Shards = 2; c.Redis.Stream = "q{x}" }, "must not contain {"},
		{"redis sharded stream wrapped in a tag", func(c *Config) { c.Kind = KindRedis; c.Redis.Shards = 2; c.Redis.Stream = "{q}" }, ""},
		{"redis one stream with its own tag", func(c *Config) { c.Kind = KindRedis; c.Redis.Stream = "q{x}" }, ""},
		{"redis negative wait_replicas", func(c *Config) { c.Kind = KindRedis; c.Redis.WaitReplicas = -1 }, "wait_replicas"},
		{"kafka consumed without brokers", func(c *Config) { c.Consume = []string{KindKafka}; c.Kafka.Brokers = nil }, "kafka needs"},
		{"memory size", func(c *Config) { c.Memory.Size = 0 }, "memory.size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigTOML(t *testing.T) {
	const doc = `
kind = "redis"
consume = ["redis", "kafka"]
[redis]
addr = "10.0.0.1:6379"
stream = "push"
shards = 8
claim_min_idle = "45s"
[redis.delivery]
max_attempts = 7
workers = 8
[kafka]
brokers = ["k1:9092", "k2:9092"]
topic = "goim-push"
`
	c := DefaultConfig()
	if _, err := toml.Decode(doc, &c); err != nil {
		t.Fatal(err)
	}
	if c.Kind != KindRedis || len(c.ConsumeKinds()) != 2 || c.Redis.Addr != "10.0.0.1:6379" || c.Redis.Shards != 8 ||
		c.Redis.ClaimMinIdle != 45*time.Second || c.Redis.MaxAttempts != 7 || c.Redis.Workers != 8 ||
		c.Redis.Group != "goim-job" || c.Kafka.Brokers[1] != "k2:9092" {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
