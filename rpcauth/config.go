package rpcauth

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on configured values.
const (
	// MinSecretLen is the shortest secret Validate accepts: 16 bytes of a
	// random string are far beyond what guessing over the network can
	// reach.
	MinSecretLen = 16
	// MaxSecretLen is the longest secret Validate accepts, and the longest
	// value a server hashes: a longer presented value is refused unread.
	MaxSecretLen = 256
	// DefaultMaxPayloadBytes is the default payload limit: 4 MiB holds a
	// job's room batches and a PushKeys of many thousands of keys, and
	// bounds what one caller can make a server buffer.
	DefaultMaxPayloadBytes = 4 << 20
	// MaxMaxPayloadBytes is the largest limit Validate accepts.
	MaxMaxPayloadBytes = 256 << 20
)

// Config is the [rpc] section every goim-edge role reads.
type Config struct {
	// Secret is sent by every Kitex client of the process and accepted by
	// its Kitex servers. Empty: servers accept every call and bind
	// loopback only (ListenAddr).
	Secret string `toml:"secret"`
	// PreviousSecrets are also accepted, never sent: the old secret during
	// a rotation, or the next one before it is sent (see the package doc).
	PreviousSecrets []string `toml:"previous_secrets"`
	// MaxPayloadBytes is the largest request a Kitex server reads; larger
	// ones are refused before their body is read.
	MaxPayloadBytes int `toml:"max_payload_bytes"`
}

// DefaultConfig has no secret and the default payload limit.
func DefaultConfig() Config {
	return Config{PreviousSecrets: []string{}, MaxPayloadBytes: DefaultMaxPayloadBytes}
}

// Required reports whether servers with this configuration check a secret.
func (c Config) Required() bool { return c.Secret != "" }

// Validate checks the secrets' form and the payload limit. It names keys
// as they appear in [rpc].
func (c Config) Validate() error {
	var errs []error
	if err := checkSecret(c.Secret); err != nil && c.Secret != "" {
		errs = append(errs, fmt.Errorf("rpc.secret: %w", err))
	}
	for i, s := range c.PreviousSecrets {
		if err := checkSecret(s); err != nil {
			errs = append(errs, fmt.Errorf("rpc.previous_secrets[%d]: %w", i, err))
		}
	}
	if len(c.PreviousSecrets) > 0 && c.Secret == "" {
		errs = append(errs, errors.New("rpc.previous_secrets: set only with rpc.secret (without a secret no call is checked)"))
	}
	if c.MaxPayloadBytes <= 0 || c.MaxPayloadBytes > MaxMaxPayloadBytes {
		errs = append(errs, fmt.Errorf("rpc.max_payload_bytes %d: must be between 1 and %d", c.MaxPayloadBytes, MaxMaxPayloadBytes))
	}
	return errors.Join(errs...)
}

// checkSecret refuses secrets that are too short to be safe, too long to
// carry, or that would differ from what a shell or a TOML file lets
// through unchanged (surrounding spaces, control characters). It never
// quotes the secret.
func checkSecret(s string) error {
	switch {
	case len(s) < MinSecretLen:
		return fmt.Errorf("must be at least %d bytes (e.g. `openssl rand -hex 32`)", MinSecretLen)
	case len(s) > MaxSecretLen:
		return fmt.Errorf("must be at most %d bytes", MaxSecretLen)
	case strings.TrimSpace(s) != s:
		return errors.New("must not start or end with spaces")
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("must not contain control characters")
	}
	return nil
}
