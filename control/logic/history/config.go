package history

import (
	"errors"
	"fmt"
	"time"
)

// Bounds of the configuration: one stream keeps at most MaxSize messages,
// and one read returns at most MaxReadLimit.
const (
	MaxSize      = 100_000
	MaxReadLimit = 10_000
)

// Limits bound one stream. Size 0 turns history off.
type Limits struct {
	// Size is how many of the newest messages are kept (0: history off).
	Size int `toml:"size"`
	// TTL is how long a message is kept; a stream with no message for
	// TTL is dropped and starts over in a new epoch.
	TTL time.Duration `toml:"ttl"`
}

// On reports whether history is kept.
func (l Limits) On() bool { return l.Size > 0 }

// RoomLimits are the limits of every room of one type.
type RoomLimits struct {
	// Type is the room type, goim's "type" of "type://id".
	Type string `toml:"type"`
	// Size and TTL as in Limits.
	Size int           `toml:"size"`
	TTL  time.Duration `toml:"ttl"`
}

// Config says which targets keep history (logic.history). Everything is
// off by default.
type Config struct {
	// Users bounds every user's stream (pushes by mid and by key).
	Users Limits `toml:"users"`
	// Rooms bounds the streams of rooms by type; types not listed keep
	// no history.
	Rooms []RoomLimits `toml:"rooms"`
	// ReadLimit is the most messages one history read returns; a request
	// asking for more gets this many.
	ReadLimit int `toml:"read_limit"`
	// RecoverLimit is the most messages one resume delivers per stream
	// (docs/recovery.md): a device that missed more gets the newest this
	// many and the verdict "limit", so a long absence cannot make one
	// reconnect unbounded. At most MaxReadLimit.
	RecoverLimit int `toml:"recover_limit"`
	// RecoverMaxBytes bounds the bodies one resume delivers per stream,
	// for the same reason: the newest messages that fit are delivered.
	// A message larger than it is never recovered, so keep it at least
	// max_body_bytes. At most MaxRecoverBytes.
	RecoverMaxBytes int `toml:"recover_max_bytes"`
}

// Defaults and bounds of the recovery settings.
const (
	// DefaultRecoverLimit messages per stream per resume.
	DefaultRecoverLimit = 1000
	// DefaultRecoverMaxBytes of bodies per stream per resume (1 MiB).
	DefaultRecoverMaxBytes = 1 << 20
	// MaxRecoverBytes caps recover_max_bytes (64 MiB), so one resume
	// answer stays a size an RPC and an edge can hold.
	MaxRecoverBytes = 64 << 20
)

// DefaultConfig keeps no history; reads return at most 100 messages, a
// resume at most 1000 messages and 1 MiB of bodies per stream.
func DefaultConfig() Config {
	return Config{ReadLimit: 100, RecoverLimit: DefaultRecoverLimit, RecoverMaxBytes: DefaultRecoverMaxBytes}
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	check := func(what string, l Limits) {
		if l.Size < 0 || l.Size > MaxSize {
			errs = append(errs, fmt.Errorf("%s size %d must be between 0 (off) and %d", what, l.Size, MaxSize))
		}
		if l.Size > 0 && l.TTL < time.Millisecond {
			errs = append(errs, fmt.Errorf("%s ttl %v must be at least 1ms", what, l.TTL))
		}
	}
	check("users", c.Users)
	seen := map[string]bool{}
	for _, r := range c.Rooms {
		if r.Type == "" {
			errs = append(errs, errors.New("rooms: type is required"))
		}
		if seen[r.Type] {
			errs = append(errs, fmt.Errorf("rooms: type %q listed twice", r.Type))
		}
		seen[r.Type] = true
		check("rooms type "+r.Type, Limits{Size: r.Size, TTL: r.TTL})
	}
	if c.ReadLimit <= 0 || c.ReadLimit > MaxReadLimit {
		errs = append(errs, fmt.Errorf("read_limit %d must be between 1 and %d", c.ReadLimit, MaxReadLimit))
	}
	if c.RecoverLimit <= 0 || c.RecoverLimit > MaxReadLimit {
		errs = append(errs, fmt.Errorf("recover_limit %d must be between 1 and %d", c.RecoverLimit, MaxReadLimit))
	}
	if c.RecoverMaxBytes <= 0 || c.RecoverMaxBytes > MaxRecoverBytes {
		errs = append(errs, fmt.Errorf("recover_max_bytes %d must be between 1 and %d", c.RecoverMaxBytes, MaxRecoverBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// Room is the limits of rooms of type typ (off when not listed).
func (c Config) Room(typ string) Limits {
	for _, r := range c.Rooms {
		if r.Type == typ {
			return Limits{Size: r.Size, TTL: r.TTL}
		}
	}
	return Limits{}
}

// On reports whether any target keeps history.
func (c Config) On() bool {
	if c.Users.On() {
		return true
	}
	for _, r := range c.Rooms {
		if r.Size > 0 {
			return true
		}
	}
	return false
}
