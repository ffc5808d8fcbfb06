package queue

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goim-edge/goim-edge/redisconn"
	"github.com/goim-edge/goim-edge/tlsclient"
)

// Queue kinds.
const (
	KindMemory = "memory"
	KindRedis  = "redis"
	KindKafka  = "kafka"
)

// Config chooses and configures the queues. Logic publishes to Kind; job
// consumes from every kind in Consume at once, so operators can move from
// one queue to another (or run Redis and Kafka side by side, as the seed
// system allowed) without losing what is still queued in the old one.
type Config struct {
	// Kind is where producers publish: "memory", "redis" or "kafka".
	Kind string `toml:"kind"`
	// Consume lists the kinds job consumes from. Empty means [Kind].
	Consume []string     `toml:"consume"`
	Memory  MemoryConfig `toml:"memory"`
	Redis   RedisConfig  `toml:"redis"`
	Kafka   KafkaConfig  `toml:"kafka"`
}

// ConsumeKinds returns the kinds to consume from, Kind when Consume is empty.
func (c Config) ConsumeKinds() []string {
	if len(c.Consume) == 0 {
		return []string{c.Kind}
	}
	return c.Consume
}

// DeliveryConfig is the delivery behaviour every consumer shares.
type DeliveryConfig struct {
	// MaxAttempts is how many times a message is handed to the handler
	// before it is moved aside as poison.
	MaxAttempts int `toml:"max_attempts"`
	// RetryBackoff is the wait before the second attempt; it doubles per
	// attempt up to MaxRetryBackoff.
	RetryBackoff    time.Duration `toml:"retry_backoff"`
	MaxRetryBackoff time.Duration `toml:"max_retry_backoff"`
	// Workers is how many messages are handled at once. Messages of one
	// target (TargetKey) always go to the same worker, in order.
	Workers int `toml:"workers"`
}

// MemoryConfig configures the in-process queue of standalone mode.
type MemoryConfig struct {
	// Size bounds the queued messages; Publish blocks while it is full.
	Size int `toml:"size"`
	// DeadSize bounds the dead-letter list kept for inspection (oldest go).
	DeadSize       int `toml:"dead_size"`
	DeliveryConfig `toml:"delivery"`
}

// RedisConfig configures the Redis Streams queue.
type RedisConfig struct {
	// Config is where Redis is (single addr, cluster addrs or sentinel),
	// the ACL user and TLS: flattened, so addr, password and db keep
	// their historical keys.
	redisconn.Config
	// Stream is the stream key; poison goes to Stream + ":dead".
	Stream string `toml:"stream"`
	// Shards spreads the queue over that many streams (1 to MaxRedisShards),
	// each in its own hash slot, so a Redis Cluster shares the queue's
	// load among its masters. Shard 0 is Stream itself (today's name);
	// shard i > 0 is Stream + ":{tag}". A message goes to the shard of
	// its target (TargetKey), so per-target order holds as with one
	// stream; every consumer reads every shard. 1: one stream. Consumers
	// read shards 0..Shards-1 only: drain the shards above a lower value
	// before lowering it (docs/redis.md).
	Shards int `toml:"shards"`
	// Group is the consumer group every job joins.
	Group string `toml:"group"`
	// Consumer names this job within the group; it must be unique per job
	// and stable across restarts (so a restarted job resumes its own
	// pending messages). Empty: hostname-pid.
	Consumer string `toml:"consumer"`
	// MaxLen caps the stream (approximate trimming, XADD MAXLEN ~).
	MaxLen int64 `toml:"max_len"`
	// DeadMaxLen caps the dead-letter stream.
	DeadMaxLen int64 `toml:"dead_max_len"`
	// Batch is how many messages one XREADGROUP / XAUTOCLAIM returns.
	Batch int64 `toml:"batch"`
	// Block is how long XREADGROUP waits for new messages.
	Block time.Duration `toml:"block"`
	// ClaimMinIdle is how long a message stays unacknowledged by a consumer
	// before another consumer takes it over (its owner is presumed dead).
	// It must exceed the longest handler run.
	ClaimMinIdle time.Duration `toml:"claim_min_idle"`
	// ClaimInterval is how often a consumer looks for such messages.
	ClaimInterval time.Duration `toml:"claim_interval"`
	// ForgetAfter removes group members that hold no messages and have
	// not polled for this long (each restart under a new hostname-pid
	// name leaves one behind). It is kept at least 10 × ClaimMinIdle.
	ForgetAfter time.Duration `toml:"forget_after"`
	// DialTimeout bounds connecting; Timeout bounds each command's reads
	// and writes (a blocking read gets Block on top).
	DialTimeout time.Duration `toml:"dial_timeout"`
	Timeout     time.Duration `toml:"timeout"`
	// WaitReplicas makes Publish wait (Redis WAIT, up to Timeout) until
	// that many replicas hold each message before reporting it accepted,
	// so a Sentinel failover cannot lose an accepted push to asynchronous
	// replication; a message not replicated in time is an error (the
	// caller's retry may then deliver it twice). 0: don't wait (Redis's
	// default: an accepted message can be lost on failover). With Redis
	// Cluster, the replicas counted are those of the master holding the
	// message's shard.
	WaitReplicas   int `toml:"wait_replicas"`
	DeliveryConfig `toml:"delivery"`
}

// MaxRedisShards is the most streams queue.redis.shards may spread the
// queue over.
const MaxRedisShards = 256

// ValidateShards refuses a shard count outside 1..MaxRedisShards, and a
// sharded stream whose name has a hash tag of its own (every shard would
// hash to that one slot).
func (c RedisConfig) ValidateShards() error {
	if c.Shards < 1 || c.Shards > MaxRedisShards {
		return fmt.Errorf("queue: redis: shards %d: want 1 to %d", c.Shards, MaxRedisShards)
	}
	// "{name}" is the tag a cluster gives an untagged name; shards then
	// take name's place in front of their own tags.
	name := c.Stream
	if len(name) > 2 && name[0] == '{' && name[len(name)-1] == '}' {
		name = name[1 : len(name)-1]
	}
	if c.Shards > 1 && strings.ContainsAny(name, "{}") {
		return fmt.Errorf("queue: redis: shards %d with stream %q: a sharded stream name must not contain { or } (each shard gets its own hash tag)", c.Shards, c.Stream)
	}
	return nil
}

// KafkaConfig configures the Kafka queue.
type KafkaConfig struct {
	Brokers []string `toml:"brokers"`
	// Topic carries the pushes; poison goes to Topic + ".dead".
	Topic string `toml:"topic"`
	// Group is the consumer group every job joins.
	Group string `toml:"group"`
	// ClientID names this process to the brokers.
	ClientID string `toml:"client_id"`
	// Partitions is used when the topic has to be created (producer side).
	Partitions int32 `toml:"partitions"`
	// Replication is the replication factor of created topics.
	Replication int16 `toml:"replication"`
	// CreateTopics creates Topic and its dead-letter topic when missing.
	CreateTopics bool `toml:"create_topics"`
	// Linger is how long the producer waits to batch records; 0 sends at
	// once (concurrent publishes still share requests while one is in flight).
	Linger time.Duration `toml:"linger"`
	// ProduceTimeout bounds how long a record may wait in the producer for
	// the brokers (delivery.timeout.ms); Publish also gives up when its
	// context ends.
	ProduceTimeout time.Duration `toml:"produce_timeout"`
	// Batch is the most records one poll hands to the workers; their
	// offsets are committed when the whole batch is handled.
	Batch int `toml:"batch"`
	// HeartbeatInterval is how often members heartbeat the group; it is
	// also how fast they notice a rebalance.
	HeartbeatInterval time.Duration `toml:"heartbeat_interval"`
	// SessionTimeout is how long the group waits for a silent member
	// before giving its partitions to others.
	SessionTimeout time.Duration `toml:"session_timeout"`
	// RebalanceTimeout bounds how long members may take to rejoin.
	RebalanceTimeout time.Duration `toml:"rebalance_timeout"`
	DeliveryConfig   `toml:"delivery"`
	// TLS dials the brokers over TLS.
	TLS tlsclient.Config `toml:"tls"`
	// SASL authenticates to the brokers (off when Mechanism is empty).
	SASL SASLConfig `toml:"sasl"`
}

// SASL mechanisms the Kafka queue speaks.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// SASLConfig is the Kafka queue's SASL login.
type SASLConfig struct {
	// Mechanism is plain, scram-sha-256 or scram-sha-512; empty: no SASL.
	Mechanism string `toml:"mechanism"`
	Username  string `toml:"username"`
	Password  string `toml:"password"`
}

// Validate refuses an unknown mechanism and a login without a user.
func (c SASLConfig) Validate() error {
	switch c.Mechanism {
	case "":
		if c.Username != "" || c.Password != "" {
			return errors.New("sasl: username or password given without a mechanism")
		}
		return nil
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if c.Username == "" {
			return fmt.Errorf("sasl: %s needs a username", c.Mechanism)
		}
		return nil
	}
	return fmt.Errorf("sasl: unknown mechanism %q (want %s, %s or %s)", c.Mechanism, SASLPlain, SASLScramSHA256, SASLScramSHA512)
}

// DefaultDelivery is the retry policy all queues default to.
func DefaultDelivery() DeliveryConfig {
	return DeliveryConfig{MaxAttempts: 5, RetryBackoff: 100 * time.Millisecond, MaxRetryBackoff: 2 * time.Second, Workers: 32}
}

// DefaultConfig is standalone mode's queue: in memory, with Redis and
// Kafka settings ready to switch on.
func DefaultConfig() Config {
	return Config{
		Kind:   KindMemory,
		Memory: DefaultMemoryConfig(),
		Redis:  DefaultRedisConfig(),
		Kafka:  DefaultKafkaConfig(),
	}
}

// DefaultMemoryConfig returns the memory queue's defaults.
func DefaultMemoryConfig() MemoryConfig {
	return MemoryConfig{Size: 10240, DeadSize: 1024, DeliveryConfig: DefaultDelivery()}
}

// DefaultRedisConfig returns the Redis queue's defaults.
func DefaultRedisConfig() RedisConfig {
	return RedisConfig{
		Config: redisconn.Config{Addr: "127.0.0.1:6379"}, Stream: "goim-push", Shards: 1, Group: "goim-job",
		MaxLen: 1_000_000, DeadMaxLen: 100_000, Batch: 128,
		Block: 2 * time.Second, ClaimMinIdle: 30 * time.Second, ClaimInterval: 5 * time.Second, ForgetAfter: time.Hour,
		DialTimeout: 3 * time.Second, Timeout: 3 * time.Second,
		DeliveryConfig: DefaultDelivery(),
	}
}

// DefaultKafkaConfig returns the Kafka queue's defaults (goim's topic name).
func DefaultKafkaConfig() KafkaConfig {
	return KafkaConfig{
		Brokers: []string{"127.0.0.1:9092"}, Topic: "goim-push-topic", Group: "goim-push-group-job",
		ClientID: "goim-edge", Partitions: 16, Replication: 1,
		ProduceTimeout: 10 * time.Second, Batch: 512, HeartbeatInterval: 3 * time.Second, SessionTimeout: 45 * time.Second, RebalanceTimeout: 60 * time.Second,
		DeliveryConfig: DefaultDelivery(),
	}
}

// Validate reports settings no queue can run with.
func (c Config) Validate() error {
	seen := map[string]bool{}
	for _, k := range c.ConsumeKinds() {
		if seen[k] {
			return fmt.Errorf("queue: kind %q listed twice in consume", k)
		}
		seen[k] = true
	}
	seen[c.Kind] = true
	for k := range seen {
		var err error
		switch k {
		case KindMemory:
			if c.Memory.Size <= 0 {
				err = fmt.Errorf("queue: memory.size must be positive")
			}
		case KindRedis:
			if c.Redis.Stream == "" || c.Redis.Group == "" {
				err = fmt.Errorf("queue: redis needs stream and group")
			} else if e := c.Redis.Config.Validate(); e != nil {
				err = fmt.Errorf("queue: redis: %w", e)
			} else if c.Redis.WaitReplicas < 0 {
				err = fmt.Errorf("queue: redis: wait_replicas %d: want 0 or more", c.Redis.WaitReplicas)
			} else {
				err = c.Redis.ValidateShards()
			}
		case KindKafka:
			if len(c.Kafka.Brokers) == 0 || c.Kafka.Topic == "" || c.Kafka.Group == "" {
				err = fmt.Errorf("queue: kafka needs brokers, topic and group")
			} else if e := errors.Join(c.Kafka.TLS.Validate(), c.Kafka.SASL.Validate()); e != nil {
				err = fmt.Errorf("queue: kafka: %w", e)
			}
		default:
			err = fmt.Errorf("queue: unknown kind %q (want memory, redis or kafka)", k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
