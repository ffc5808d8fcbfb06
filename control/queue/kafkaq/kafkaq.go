// Package kafkaq is the Kafka queue (franz-go): logic produces each push
// keyed by its target (queue.TargetKey), so one target's messages share a
// partition and keep their order; every job joins one consumer group.
//
// Delivery guarantees:
//   - At least once. Offsets are committed only for records the handler
//     accepted (or moved aside as poison), after each polled batch; a job
//     that dies re-delivers its uncommitted records to whichever member
//     gets the partition in the rebalance.
//   - Order per target holds across any number of jobs: a partition has one
//     owner at a time, and within a job one target's records go to one
//     worker in offset order, retries included. Rebalances are held back
//     while a batch is being handled (BlockRebalanceOnPoll), so a handler
//     must finish within RebalanceTimeout.
//   - Poison (undecodable, queue.ErrPoison, or out of attempts) is produced
//     to "<topic>.dead" with headers saying where it came from and why,
//     logged and counted, then committed like any handled record.
//   - Kafka keeps no delivery count, so Attempt counts only this job's
//     tries; a record whose handler crashes the process every time is
//     redelivered after each restart.
package kafkaq

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/goim-edge/goim-edge/control/queue"
)

const kind = queue.KindKafka

// Record headers of dead letters.
const (
	headerSource   = "goim-source" // topic/partition/offset it was read from
	headerError    = "goim-error"
	headerAttempts = "goim-attempts"
)

// Config is the Kafka queue's configuration.
type Config = queue.KafkaConfig

// DefaultConfig returns the Kafka queue's defaults.
func DefaultConfig() Config { return queue.DefaultKafkaConfig() }

// DeadTopic is the dead-letter topic of cfg.Topic.
func DeadTopic(cfg Config) string { return cfg.Topic + ".dead" }

func withDefaults(cfg Config) Config {
	def := DefaultConfig()
	if cfg.Topic == "" {
		cfg.Topic = def.Topic
	}
	if cfg.Group == "" {
		cfg.Group = def.Group
	}
	if cfg.ClientID == "" {
		cfg.ClientID = def.ClientID
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = def.Partitions
	}
	if cfg.Replication <= 0 {
		cfg.Replication = def.Replication
	}
	if cfg.ProduceTimeout <= 0 {
		cfg.ProduceTimeout = def.ProduceTimeout
	}
	if cfg.Batch <= 0 {
		cfg.Batch = def.Batch
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = def.HeartbeatInterval
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = def.SessionTimeout
	}
	if cfg.RebalanceTimeout <= 0 {
		cfg.RebalanceTimeout = def.RebalanceTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	return cfg
}

// baseOpts are the client options producer and consumer share: brokers,
// identity, logging (to log), and TLS and SASL when configured.
func baseOpts(cfg Config, log *slog.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(slogLogger{l: log}),
	}
	t, err := cfg.TLS.Load()
	if err != nil {
		return nil, fmt.Errorf("kafka queue: %w", err)
	}
	if t != nil {
		opts = append(opts, kgo.DialTLSConfig(t))
	}
	if err := cfg.SASL.Validate(); err != nil {
		return nil, fmt.Errorf("kafka queue: %w", err)
	}
	switch cfg.SASL.Mechanism {
	case queue.SASLPlain:
		opts = append(opts, kgo.SASL(plain.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsMechanism()))
	case queue.SASLScramSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsSha256Mechanism()))
	case queue.SASLScramSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsSha512Mechanism()))
	}
	return opts, nil
}

// CreateTopics creates cfg.Topic and its dead-letter topic if missing.
func CreateTopics(ctx context.Context, cl *kgo.Client, cfg Config) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	for _, name := range []string{cfg.Topic, DeadTopic(cfg)} {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic = name
		t.NumPartitions = cfg.Partitions
		t.ReplicationFactor = cfg.Replication
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("kafka queue: create topics: %w", err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil && err != kerr.TopicAlreadyExists {
			return fmt.Errorf("kafka queue: create topic %s: %w", t.Topic, err)
		}
	}
	return nil
}
