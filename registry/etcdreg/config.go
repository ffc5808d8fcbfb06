// Package etcdreg registers goim-edge nodes in etcd and discovers them by
// watching key prefixes. Keys are /{env}/{service}/{region}/{node} and the
// value is the JSON of registry.Instance (see docs/registry.md). It uses
// go.etcd.io/etcd/client/v3 directly: registration survives etcd outages
// by re-registering forever, and discovery follows a watch (initial Get,
// then Watch from the next revision, re-list after compaction) instead of
// polling.
package etcdreg

import (
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/goim-edge/goim-edge/tlsclient"
)

// Config is the etcd registry's configuration.
type Config struct {
	// Endpoints are etcd client URLs or host:port pairs.
	Endpoints []string `toml:"endpoints"`
	// Env, Region and Zone fill the registered instance's fields that are
	// left empty; Env also scopes discovery (the first key segment). The
	// binary takes them from [node], not from this table.
	Env    string `toml:"-"`
	Region string `toml:"-"`
	Zone   string `toml:"-"`
	// WatchRegion limits discovery to one region's prefix; empty watches
	// every region of a service.
	WatchRegion string `toml:"watch_region"`
	// TTL is the registration lease's time to live: how long a node that
	// died without deregistering stays visible. etcd rounds it up to whole
	// seconds.
	TTL time.Duration `toml:"lease_ttl"`
	// DialTimeout bounds connecting and each etcd request.
	DialTimeout time.Duration `toml:"dial_timeout"`
	// Username and Password enable etcd authentication when both are set.
	Username string `toml:"username"`
	Password string `toml:"password"`
	// TLS dials etcd over TLS (https endpoints), with a client
	// certificate when etcd requires one (--client-cert-auth).
	TLS tlsclient.Config `toml:"tls"`
}

// DefaultConfig returns goim-style defaults: a local etcd, env "dev",
// region "sh", zone "sh001", a 10 s lease.
func DefaultConfig() Config {
	return Config{
		Endpoints:   []string{"127.0.0.1:2379"},
		Env:         "dev",
		Region:      "sh",
		Zone:        "sh001",
		TTL:         10 * time.Second,
		DialTimeout: 5 * time.Second,
	}
}

// withDefaults fills zero durations so a partly written config works.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.TTL <= 0 {
		c.TTL = d.TTL
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = d.DialTimeout
	}
	return c
}

// ttlSeconds is the lease TTL in whole seconds, rounded up, at least 1.
func (c Config) ttlSeconds() int64 {
	s := int64((c.TTL + time.Second - 1) / time.Second)
	return max(s, 1)
}

// NewClient connects to etcd. It does not wait for etcd to be reachable
// (unless authentication is configured), so a node can start during an
// etcd outage; the registrar and discovery retry on their own. The
// client's own zap logging is off: this package logs what matters via
// slog.
func NewClient(cfg Config) (*clientv3.Client, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("etcdreg: no endpoints configured")
	}
	tlsCfg, err := cfg.TLS.Load()
	if err != nil {
		return nil, fmt.Errorf("etcdreg: %w", err)
	}
	cli, err := clientv3.New(clientv3.Config{
		TLS:                  tlsCfg,
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.DialTimeout,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: cfg.DialTimeout,
		Username:             cfg.Username,
		Password:             cfg.Password,
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcdreg: connect %v: %w", cfg.Endpoints, err)
	}
	return cli, nil
}
