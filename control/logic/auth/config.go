package auth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Modes of Config.Mode.
const (
	ModeJSON    = "json"
	ModeJWT     = "jwt"
	ModeWebhook = "webhook"
)

// Config chooses and tunes the authenticator.
type Config struct {
	// Mode is "json" (goim's unverified token; default), "jwt" or "webhook".
	Mode    string        `toml:"mode"`
	JWT     JWTConfig     `toml:"jwt"`
	Webhook WebhookConfig `toml:"webhook"`
}

// JWTConfig verifies signed tokens (the auth frame body is the compact
// JWS). Exactly one of KeyFile and JWKSURL is set. Claims: sub is the mid
// (a decimal string or a number), exp is required, the rooms and accepts
// claims are named below, and the optional "key" and "platform" claims give
// the device key (empty: a fresh UUID per connection) and platform.
type JWTConfig struct {
	// Alg is the only accepted signing algorithm: HS256, RS256 or ES256.
	// Pinning it stops a token signed with another algorithm (or "none")
	// from being accepted.
	Alg string `toml:"alg"`
	// KeyFile holds the HS256 secret (raw bytes; surrounding whitespace is
	// trimmed) or the RS256/ES256 public key or certificate in PEM.
	KeyFile string `toml:"key_file"`
	// JWKSURL is fetched (and refreshed hourly and on unknown key ids) for
	// the verification keys instead of KeyFile.
	JWKSURL string `toml:"jwks_url"`
	// Issuer and Audience, when set, must match the iss and aud claims.
	Issuer   string `toml:"issuer"`
	Audience string `toml:"audience"`
	// Leeway absorbs clock skew in exp/nbf/iat checks.
	Leeway time.Duration `toml:"leeway"`
	// RoomsClaim names the claim with the rooms to join (a list of
	// "type://id", or one string).
	RoomsClaim string `toml:"rooms_claim"`
	// AcceptsClaim names the claim with the accepted operations (a list of
	// integers).
	AcceptsClaim string `toml:"accepts_claim"`
	// GrantsClaim names the optional claim with the further rooms the
	// device may join with ops 12 and 22 (a list, or one string): room
	// ids, or prefixes ending in "*" ("live://*"). A jwt device may be in
	// the rooms of RoomsClaim and those granted here, no others.
	GrantsClaim string `toml:"grants_claim"`
}

// WebhookConfig asks the app backend; see webhook.go for the exchange.
type WebhookConfig struct {
	// URL receives each token as a POST.
	URL string `toml:"url"`
	// Timeout bounds one POST.
	Timeout time.Duration `toml:"timeout"`
	// CacheTTL keeps positive answers this long (0 disables the cache), so
	// a reconnect storm does not become a storm on the backend.
	CacheTTL time.Duration `toml:"cache_ttl"`
	// CacheSize bounds the cache; the least recently used answer goes first.
	CacheSize int `toml:"cache_size"`
}

// DefaultConfig is goim's behaviour: mode json.
func DefaultConfig() Config {
	return Config{
		Mode: ModeJSON,
		JWT: JWTConfig{
			Alg:          "HS256",
			Leeway:       30 * time.Second,
			RoomsClaim:   "rooms",
			AcceptsClaim: "accepts",
			GrantsClaim:  "room_grants",
		},
		Webhook: WebhookConfig{
			Timeout:   2 * time.Second,
			CacheTTL:  10 * time.Second,
			CacheSize: 10000,
		},
	}
}

// Validate reports every setting of the chosen mode that cannot work.
func (c Config) Validate() error {
	var errs []error
	switch c.Mode {
	case ModeJSON:
	case ModeJWT:
		j := c.JWT
		switch j.Alg {
		case "HS256", "RS256", "ES256":
		default:
			errs = append(errs, fmt.Errorf("jwt.alg %q: want HS256, RS256 or ES256", j.Alg))
		}
		switch {
		case j.KeyFile == "" && j.JWKSURL == "":
			errs = append(errs, errors.New("jwt: set key_file or jwks_url"))
		case j.KeyFile != "" && j.JWKSURL != "":
			errs = append(errs, errors.New("jwt: set only one of key_file and jwks_url"))
		case j.JWKSURL != "":
			if err := checkHTTPURL(j.JWKSURL); err != nil {
				errs = append(errs, fmt.Errorf("jwt.jwks_url: %w", err))
			}
			if j.Alg == "HS256" {
				errs = append(errs, errors.New("jwt: jwks_url publishes public keys; use alg RS256 or ES256"))
			}
		}
		if j.Leeway < 0 {
			errs = append(errs, fmt.Errorf("jwt.leeway %v must not be negative", j.Leeway))
		}
		if j.RoomsClaim == "" || j.AcceptsClaim == "" || j.GrantsClaim == "" {
			errs = append(errs, errors.New("jwt: rooms_claim, accepts_claim and grants_claim must be set"))
		}
	case ModeWebhook:
		w := c.Webhook
		if err := checkHTTPURL(w.URL); err != nil {
			errs = append(errs, fmt.Errorf("webhook.url: %w", err))
		}
		if w.Timeout <= 0 {
			errs = append(errs, fmt.Errorf("webhook.timeout %v must be positive", w.Timeout))
		}
		if w.CacheTTL < 0 {
			errs = append(errs, fmt.Errorf("webhook.cache_ttl %v must not be negative", w.CacheTTL))
		}
		if w.CacheTTL > 0 && w.CacheSize <= 0 {
			errs = append(errs, fmt.Errorf("webhook.cache_size %d must be positive when cache_ttl is set", w.CacheSize))
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q: want json, jwt or webhook", c.Mode))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("auth: config: %w", err)
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	if strings.ContainsAny(s, " \t\n") {
		return fmt.Errorf("%q contains whitespace", s)
	}
	return nil
}
