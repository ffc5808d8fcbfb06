// Package auth turns a device's auth frame (goim op 7 body) into who the
// device is. The mode is chosen by config: "json" trusts goim's plain JSON
// token (compatibility and demos), "jwt" verifies a signed token, "webhook"
// asks the app backend.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
)

// ErrRefused marks a token that was judged and rejected (malformed, badly
// signed, expired, refused by the backend). Any other error is an internal
// failure (backend down, timeout): the edge closes the connection either
// way, but only a failure is worth retrying on another logic instance.
var ErrRefused = errors.New("auth: refused")

// Identity is who an authenticated device is and what it listens to.
type Identity struct {
	// Mid is the user id (goim "mid"); 0 is a valid anonymous user.
	Mid int64
	// Key names this connection; a second connection with the same key
	// replaces the first. Never empty: a missing key gets a fresh UUID.
	Key string
	// Rooms the device joins at once, each "type://id", deduplicated.
	Rooms []string
	// Accepts are the operations the device wants from key, mid and
	// broadcast pushes.
	Accepts []int32
	// Platform is the client's self-description ("web", "android", …).
	Platform string
	// Restricted limits the rooms the device may be in to RoomGrants
	// (jwt and webhook modes); false lets it join any room (json mode,
	// goim's behaviour).
	Restricted bool
	// RoomGrants are the rooms a restricted device may join with ops 12
	// and 22: exact "type://id" room ids, or prefixes ending in "*"
	// ("live://*"; "*" alone grants every room). They always include
	// Rooms.
	RoomGrants []string
}

// Authenticator judges auth tokens. Implementations are safe for
// concurrent use.
type Authenticator interface {
	// Authenticate returns the device's identity, an error wrapping
	// ErrRefused for a bad token, or another error when it could not judge.
	Authenticate(ctx context.Context, token []byte) (Identity, error)
}

// New builds the Authenticator cfg asks for. In json mode it logs a warning
// that clients are trusted. An authenticator that holds resources (jwt
// mode with a JWKS URL refreshes keys in the background) also implements
// io.Closer. log (nil: slog.Default()) gets that warning.
func New(cfg Config, log *slog.Logger) (Authenticator, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var (
		a   Authenticator
		err error
	)
	switch cfg.Mode {
	case ModeJSON:
		log.Warn("auth: mode json trusts the client: any device can claim any mid and room; use mode jwt or webhook in production")
		a = jsonAuth{}
	case ModeJWT:
		a, err = newJWT(cfg.JWT)
	case ModeWebhook:
		a, err = newWebhook(cfg.Webhook)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: mode %s: %w", cfg.Mode, err)
	}
	return withKey{Authenticator: a, mode: cfg.Mode}, nil
}

// withKey gives every identity a key, after any cache, so devices sharing a
// token never share a generated key; it also counts results per mode.
type withKey struct {
	Authenticator
	mode string
}

func (w withKey) Authenticate(ctx context.Context, token []byte) (Identity, error) {
	id, err := w.Authenticator.Authenticate(ctx, token)
	switch {
	case err == nil:
		authTotal.WithLabelValues(w.mode, "ok").Inc()
	case errors.Is(err, ErrRefused):
		authTotal.WithLabelValues(w.mode, "refused").Inc()
		return Identity{}, err
	default:
		authTotal.WithLabelValues(w.mode, "error").Inc()
		return Identity{}, err
	}
	if id.Key == "" {
		id.Key = uuid.NewString()
	}
	return id, nil
}

// Close closes the wrapped authenticator when it holds resources.
func (w withKey) Close() error {
	if c, ok := w.Authenticator.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

func refusedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...)
}
