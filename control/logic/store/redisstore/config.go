package redisstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/redisconn"
)

// Config says which Redis holds the routes and online reports.
type Config struct {
	// Config is where Redis is (single addr, cluster addrs or sentinel),
	// the ACL user and TLS: flattened, so addr, username, password and db
	// keep their historical keys.
	redisconn.Config
	// Prefix starts every key this store writes, so several deployments
	// (or other data) can share one Redis.
	Prefix string `toml:"prefix"`
	// PoolSize is the connection pool size (0: go-redis's 10 per CPU).
	PoolSize int `toml:"pool_size"`
	// DialTimeout, ReadTimeout and WriteTimeout bound each network step, so
	// a dead Redis fails calls quickly instead of hanging Connect.
	DialTimeout  time.Duration `toml:"dial_timeout"`
	ReadTimeout  time.Duration `toml:"read_timeout"`
	WriteTimeout time.Duration `toml:"write_timeout"`
	// PoolTimeout bounds the wait for a free pooled connection.
	PoolTimeout time.Duration `toml:"pool_timeout"`
	// MaxRetries is how often a failed command is retried (-1: never).
	MaxRetries int `toml:"max_retries"`
}

// DefaultConfig is a local Redis with timeouts short enough that an outage
// fails Connect well inside logic's call timeout.
func DefaultConfig() Config {
	return Config{
		Config:       redisconn.Config{Addr: "127.0.0.1:6379"},
		Prefix:       "goim:",
		DialTimeout:  time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		PoolTimeout:  2 * time.Second,
		MaxRetries:   1,
	}
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.PoolSize < 0 {
		errs = append(errs, fmt.Errorf("pool_size %d must not be negative", c.PoolSize))
	}
	for name, d := range map[string]time.Duration{
		"dial_timeout": c.DialTimeout, "read_timeout": c.ReadTimeout,
		"write_timeout": c.WriteTimeout, "pool_timeout": c.PoolTimeout,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %v must be positive", name, d))
		}
	}
	if c.MaxRetries < -1 {
		errs = append(errs, fmt.Errorf("max_retries %d: want -1 or more", c.MaxRetries))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redis store: config: %w", err)
	}
	return nil
}
