package logic

import (
	"errors"
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/control/logic/nodes"
	"github.com/goim-edge/goim-edge/protocol"
)

// Config is the logic service's behaviour towards edges and pushers.
type Config struct {
	// Heartbeat is how often devices are expected to heartbeat (goim's
	// node heartbeat, 4 min). It is reported by /goim/nodes/weighted.
	Heartbeat time.Duration `toml:"heartbeat"`
	// HeartbeatMax is how many heartbeats a device may miss before its edge
	// closes it; edges get Heartbeat × HeartbeatMax as their idle deadline.
	HeartbeatMax int `toml:"heartbeat_max"`
	// RouteTTL is how long a device route lives without an edge Heartbeat
	// call. Edges renew routes well inside it (goim: every 10–30 min with a
	// 30 min expiry), so a crashed edge's routes disappear on their own.
	RouteTTL time.Duration `toml:"route_ttl"`
	// OnlineTTL is how long one edge's RenewOnline report counts; a dead
	// edge's room counts age out after it. Edges report every ~10 s.
	OnlineTTL time.Duration `toml:"online_ttl"`
	// MaxBodyBytes is the largest message body one push may carry, over
	// the HTTP API and the Kitex Push service alike; a larger one is
	// refused with -400 before anything is queued. At most
	// protocol.MaxPushBody (16 MiB). It was logic.http.max_body_bytes when
	// it applied to HTTP only; that key still sets it.
	MaxBodyBytes int `toml:"max_body_bytes"`
	// MaxTargets is how many keys, or mids, one push may name; more are
	// refused with -400 (HTTP 400, push.PushError over Kitex), so one
	// request cannot make logic look up and queue without bound.
	MaxTargets int `toml:"max_targets"`
	// CallTimeout bounds each store/queue/auth call made while serving one
	// request, so a hung dependency fails the request instead of piling up.
	CallTimeout time.Duration `toml:"call_timeout"`
	// EpochRefresh is how long logic trusts its cached copy of the store's
	// epoch (the value that changes when the store loses its data) before
	// it reads it again; edges learn of a loss within about this plus
	// their own epoch_interval.
	EpochRefresh time.Duration `toml:"epoch_refresh"`
	// RestoreWindow is how long after logic sees a new store epoch (the
	// route store lost its data) a push by key or mid with a target that
	// has no route is refused with -500 (ErrRestoring) instead of answered
	// code 0: edges are still writing their routes back. Cover the
	// edges' epoch_interval plus their largest route count divided by
	// restore_rate. 0 turns the refusal off (unknown targets are code 0).
	RestoreWindow time.Duration `toml:"restore_window"`
	// Receive is where upstream (device → server) messages go.
	Receive ReceiveConfig `toml:"receive"`
	// History says which push targets keep their recent messages in
	// streams with positions (docs/history.md); off by default.
	History history.Config `toml:"history"`
	// Nodes tunes /goim/nodes/weighted. Its heartbeat and heartbeat_max
	// are not read: New takes them from Heartbeat and HeartbeatMax above,
	// so what clients are told and what edges enforce cannot disagree.
	Nodes nodes.Config `toml:"nodes"`
}

// ReceiveConfig chooses the hook for upstream messages (goim op 4).
type ReceiveConfig struct {
	// URL receives each upstream message as an HTTP POST (body = message
	// body, X-Goim-* headers = who sent it). Empty: messages are only logged
	// at debug level and counted, as goim does.
	URL string `toml:"url"`
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string `toml:"token"`
	// Timeout bounds one POST.
	Timeout time.Duration `toml:"timeout"`
	// Parallel bounds upstream messages handled at once by this logic
	// instance (each is a webhook POST when URL is set). More are refused
	// at once with ErrBusy rather than queued, so a flood from devices
	// costs bounded memory and the webhook sees bounded concurrency.
	Parallel int `toml:"parallel"`
}

// Defaults of the push limits.
const (
	// DefaultMaxBodyBytes is 64 KiB, the HTTP API's limit since the start.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxTargets allows 1,000 keys or mids per push: a large group
	// chat in one call, and still one small store lookup.
	DefaultMaxTargets = 1000
)

// DefaultConfig returns goim's defaults.
func DefaultConfig() Config {
	return Config{
		Heartbeat:     4 * time.Minute,
		HeartbeatMax:  2,
		RouteTTL:      30 * time.Minute,
		OnlineTTL:     90 * time.Second,
		CallTimeout:   3 * time.Second,
		MaxBodyBytes:  DefaultMaxBodyBytes,
		MaxTargets:    DefaultMaxTargets,
		EpochRefresh:  time.Second,
		RestoreWindow: 30 * time.Second,
		Receive:       ReceiveConfig{Timeout: 3 * time.Second, Parallel: 256},
		Nodes:         nodes.DefaultConfig(),
		History:       history.DefaultConfig(),
	}
}

// HeartbeatDeadline is the idle time after which an edge closes a device.
func (c Config) HeartbeatDeadline() time.Duration {
	return c.Heartbeat * time.Duration(c.HeartbeatMax)
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Heartbeat <= 0 {
		errs = append(errs, fmt.Errorf("heartbeat %v must be positive", c.Heartbeat))
	}
	if c.HeartbeatMax <= 0 {
		errs = append(errs, fmt.Errorf("heartbeat_max %d must be positive", c.HeartbeatMax))
	}
	if c.RouteTTL <= 0 {
		errs = append(errs, fmt.Errorf("route_ttl %v must be positive", c.RouteTTL))
	}
	if c.OnlineTTL <= 0 {
		errs = append(errs, fmt.Errorf("online_ttl %v must be positive", c.OnlineTTL))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, fmt.Errorf("call_timeout %v must be positive", c.CallTimeout))
	}
	if c.MaxBodyBytes <= 0 || c.MaxBodyBytes > protocol.MaxPushBody {
		errs = append(errs, fmt.Errorf("max_body_bytes %d must be between 1 and %d", c.MaxBodyBytes, protocol.MaxPushBody))
	}
	if c.MaxTargets <= 0 {
		errs = append(errs, fmt.Errorf("max_targets %d must be positive", c.MaxTargets))
	}
	if c.Receive.Parallel <= 0 {
		errs = append(errs, fmt.Errorf("receive.parallel %d must be positive", c.Receive.Parallel))
	}
	if c.RestoreWindow < 0 {
		errs = append(errs, fmt.Errorf("restore_window %v must not be negative", c.RestoreWindow))
	}
	if c.EpochRefresh <= 0 {
		errs = append(errs, fmt.Errorf("epoch_refresh %v must be positive", c.EpochRefresh))
	}
	if c.Receive.URL != "" && c.Receive.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("receive.timeout %v must be positive", c.Receive.Timeout))
	}
	if err := c.History.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Heartbeat > 0 && c.HeartbeatMax > 0 {
		if err := c.nodes().Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("logic: config: %w", err)
	}
	return nil
}

// nodes is the node selection's config with logic's heartbeat.
func (c Config) nodes() nodes.Config {
	n := c.Nodes
	n.Heartbeat, n.HeartbeatMax = c.Heartbeat, c.HeartbeatMax
	return n
}
