// Package redisconn is the one way every Redis user of goim-edge (the
// route store, the Redis queue and the history streams) connects: a
// single server, a Redis Cluster or a Sentinel-managed master, with ACL
// users and TLS, all chosen by configuration. Sharing it means a setting
// added once (a TLS option, a Sentinel password) works for all three.
package redisconn

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/tlsclient"
)

// Topology names how a Config reaches Redis.
type Topology string

// The topologies a Config can describe, in the order Mode picks them.
const (
	// Sentinel: master_name and sentinel_addrs are set; the client asks
	// the sentinels for the current master and follows failovers.
	Sentinel Topology = "sentinel"
	// Cluster: addrs (seed nodes) is set; keys are routed by hash slot.
	Cluster Topology = "cluster"
	// Single: one server at addr, the historical setting.
	Single Topology = "single"
)

// Config is where Redis is and who we are to it. It is embedded (its keys
// flattened) in [store.redis] and [queue.redis], so files written for the
// single-address configs keep working unchanged.
type Config struct {
	// Addr is host:port of a single Redis server; ignored when Addrs or
	// MasterName is set.
	Addr string `toml:"addr"`
	// Addrs are Redis Cluster seed nodes (host:port); any reachable one
	// is enough, the client discovers the rest. Setting it selects
	// cluster mode, even with a single seed.
	Addrs []string `toml:"addrs"`
	// MasterName is the Sentinel master set name; with SentinelAddrs it
	// selects Sentinel mode (the client follows failovers).
	MasterName string `toml:"master_name"`
	// SentinelAddrs are the sentinels (host:port) asked for the master.
	SentinelAddrs []string `toml:"sentinel_addrs"`
	// SentinelUsername and SentinelPassword authenticate to the sentinels
	// when they require it (requirepass / ACL on the sentinels).
	SentinelUsername string `toml:"sentinel_username"`
	SentinelPassword string `toml:"sentinel_password"`
	// Username is the Redis 6+ ACL user (empty: "default"); Password its
	// password (or the requirepass of servers without ACL users).
	Username string `toml:"username"`
	Password string `toml:"password"`
	// DB is the database number; Redis Cluster has only 0.
	DB int `toml:"db"`
	// TLS dials Redis (and the sentinels) over TLS.
	TLS tlsclient.Config `toml:"tls"`
}

// Mode reports the topology c selects.
func (c Config) Mode() Topology {
	switch {
	case c.MasterName != "" || len(c.SentinelAddrs) > 0:
		return Sentinel
	case len(c.Addrs) > 0:
		return Cluster
	default:
		return Single
	}
}

// Validate reports every setting that cannot work, without dialling or
// reading files.
func (c Config) Validate() error {
	var errs []error
	hostPorts := func(key string, addrs []string) {
		for i, a := range addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				errs = append(errs, fmt.Errorf("%s[%d] %q: want host:port: %w", key, i, a, err))
			}
		}
	}
	switch c.Mode() {
	case Sentinel:
		if c.MasterName == "" {
			errs = append(errs, errors.New("sentinel_addrs given without master_name"))
		}
		if len(c.SentinelAddrs) == 0 {
			errs = append(errs, errors.New("master_name given without sentinel_addrs"))
		}
		if len(c.Addrs) > 0 {
			errs = append(errs, errors.New("addrs (cluster) and master_name (sentinel) exclude each other"))
		}
		hostPorts("sentinel_addrs", c.SentinelAddrs)
	case Cluster:
		if c.DB != 0 {
			errs = append(errs, fmt.Errorf("db %d: Redis Cluster has only db 0", c.DB))
		}
		hostPorts("addrs", c.Addrs)
	default:
		if c.Addr == "" {
			errs = append(errs, errors.New("addr (or addrs, or master_name with sentinel_addrs) is required"))
		} else {
			hostPorts("addr", []string{c.Addr})
		}
	}
	if c.DB < 0 {
		errs = append(errs, fmt.Errorf("db %d must not be negative", c.DB))
	}
	if (c.SentinelUsername != "" || c.SentinelPassword != "") && c.Mode() != Sentinel {
		errs = append(errs, errors.New("sentinel_username/sentinel_password given without master_name"))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Options are the per-user client settings (each user has its own
// timeouts and pool needs); zero values take go-redis's defaults.
type Options struct {
	PoolSize     int
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	PoolTimeout  time.Duration
	// MaxRetries is how often a failed command is retried (-1: never).
	MaxRetries int
}

// New returns the client for c: a *redis.Client, *redis.ClusterClient or
// Sentinel-backed failover client behind one interface. It does not dial
// (users start and degrade with Redis down); it fails only on settings
// that cannot work or TLS files that cannot be read.
func New(c Config, o Options) (redis.UniversalClient, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("redis: config: %w", err)
	}
	tlsCfg, err := c.TLS.Load()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	u := &redis.UniversalOptions{
		Username:         c.Username,
		Password:         c.Password,
		SentinelUsername: c.SentinelUsername,
		SentinelPassword: c.SentinelPassword,
		TLSConfig:        tlsCfg,
		PoolSize:         o.PoolSize,
		DialTimeout:      o.DialTimeout,
		ReadTimeout:      o.ReadTimeout,
		WriteTimeout:     o.WriteTimeout,
		PoolTimeout:      o.PoolTimeout,
		MaxRetries:       o.MaxRetries,
		// One dial attempt per command try: go-redis's default of 5 spaced
		// 100 ms apart makes every call of an outage take most of a second.
		DialerRetries: 1,
		// Callers' deadlines (logic's per-request call timeout) bound
		// commands too, so a stalled Redis fails a call promptly.
		ContextTimeoutEnabled: true,
	}
	// Each client gets its own copy of the address lists: go-redis appends
	// discovered nodes to them in place, so clients built from one config
	// (whose slice may have spare capacity) would race on its backing array.
	switch c.Mode() {
	case Sentinel:
		u.MasterName = c.MasterName
		u.Addrs = slices.Clone(c.SentinelAddrs)
		u.DB = c.DB
	case Cluster:
		u.Addrs = slices.Clone(c.Addrs)
		u.IsClusterMode = true
	default:
		u.Addrs = []string{c.Addr}
		u.DB = c.DB
	}
	return redis.NewUniversalClient(u), nil
}
