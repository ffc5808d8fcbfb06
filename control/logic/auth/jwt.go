package auth

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	configsecret "github.com/goim-edge/goim-edge/config/secret"
)

// Claims read in jwt mode besides the configurable rooms/accepts claims.
const (
	keyClaim      = "key"      // optional device key
	platformClaim = "platform" // optional platform
	// minSecret is HS256's key size (RFC 7518 §3.2): shorter secrets are
	// guessable offline from any token.
	minSecret = 32
	// maxToken bounds what is handed to the JWT parser; an auth frame is
	// at most 4096 bytes anyway.
	maxToken = 8192
)

// jwtAuth verifies compact JWS tokens: the signature with a pinned
// algorithm, exp (required), nbf/iat when present, iss/aud when configured.
// sub is the mid (a numeric string or a number).
type jwtAuth struct {
	cfg    JWTConfig
	parser *jwt.Parser
	key    any // verification key from KeyFile, or nil with JWKS
	jwks   keyfunc.Keyfunc
	stop   context.CancelFunc
}

func newJWT(cfg JWTConfig) (*jwtAuth, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{cfg.Alg}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithIssuedAt(),   // a token "issued" in the future is forged or skewed
		jwt.WithJSONNumber(), // mids beyond 2^53 stay exact
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	a := &jwtAuth{cfg: cfg, parser: jwt.NewParser(opts...)}
	if cfg.JWKSURL != "" {
		ctx, stop := context.WithCancel(context.Background())
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			Client:      &http.Client{Timeout: 10 * time.Second},
			HTTPTimeout: 10 * time.Second,
			// An unknown kid (key rotation) may refresh the set once a
			// minute. jwkset bounds the limiter wait AND the refetch that
			// follows with one RateLimitWaitMax deadline, so it must be long
			// enough for an HTTP round trip (1 ms failed the refetch under
			// load). A token still never waits for the limiter: rate.Limiter
			// refuses at once when the next token comes after the deadline.
			RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Minute), 1),
			RateLimitWaitMax:  jwksRefetchTimeout,
		})
		if err != nil {
			stop()
			return nil, fmt.Errorf("jwks %s: %w", cfg.JWKSURL, err)
		}
		a.jwks, a.stop = kf, stop
		return a, nil
	}
	key, err := loadKey(cfg.Alg, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	a.key = key
	return a, nil
}

// loadKey reads the verification key for alg from path.
func loadKey(alg, path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	switch alg {
	case "HS256":
		secret := bytes.TrimSpace(data)
		if err := configsecret.Check("auth.jwt.key_file "+path, string(secret)); err != nil {
			return nil, err
		}
		if len(secret) < minSecret {
			return nil, fmt.Errorf("key file %s: HS256 secret is %d bytes, want at least %d", path, len(secret), minSecret)
		}
		return secret, nil
	case "RS256":
		k, err := jwt.ParseRSAPublicKeyFromPEM(data)
		if err != nil {
			return nil, fmt.Errorf("key file %s: RS256 public key: %w", path, err)
		}
		return k, nil
	case "ES256":
		k, err := jwt.ParseECPublicKeyFromPEM(data)
		if err != nil {
			return nil, fmt.Errorf("key file %s: ES256 public key: %w", path, err)
		}
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("key file %s: ES256 needs a P-256 key, not %s", path, k.Curve.Params().Name)
		}
		return k, nil
	}
	return nil, fmt.Errorf("alg %q not supported", alg)
}

// jwksRefetchTimeout bounds the refetch of the key set that a token
// with an unknown kid triggers.
const jwksRefetchTimeout = 5 * time.Second

// Close stops the JWKS refresher.
func (a *jwtAuth) Close() error {
	if a.stop != nil {
		a.stop()
	}
	return nil
}

func (a *jwtAuth) Authenticate(ctx context.Context, token []byte) (Identity, error) {
	token = bytes.TrimSpace(token)
	if len(token) == 0 || len(token) > maxToken {
		return Identity{}, refusedf("jwt: token of %d bytes", len(token))
	}
	keyFn := func(*jwt.Token) (any, error) { return a.key, nil }
	if a.jwks != nil {
		keyFn = a.jwks.KeyfuncCtx(ctx)
	}
	claims := jwt.MapClaims{}
	if _, err := a.parser.ParseWithClaims(string(token), claims, keyFn); err != nil {
		if a.jwks != nil && errors.Is(err, jwt.ErrTokenUnverifiable) && a.noKeys(ctx) {
			// Not the token's fault: the key set never loaded.
			return Identity{}, fmt.Errorf("auth: jwt: no keys from %s yet: %w", a.cfg.JWKSURL, err)
		}
		return Identity{}, refusedf("jwt: %v", err)
	}
	id, err := a.identity(claims)
	if err != nil {
		return Identity{}, refusedf("jwt: %v", err)
	}
	return id, nil
}

func (a *jwtAuth) noKeys(ctx context.Context) bool {
	keys, err := a.jwks.Storage().KeyReadAll(ctx)
	return err != nil || len(keys) == 0
}

// identity maps verified claims to an Identity.
func (a *jwtAuth) identity(c jwt.MapClaims) (Identity, error) {
	var id Identity
	mid, err := claimInt(c["sub"], math.MinInt64, math.MaxInt64)
	if err != nil {
		return id, fmt.Errorf("sub (mid): %w", err)
	}
	id.Mid = mid
	if id.Key, err = claimString(c, keyClaim); err != nil {
		return id, err
	}
	if err := checkKey(id.Key); err != nil {
		return id, err
	}
	if id.Platform, err = claimString(c, platformClaim); err != nil {
		return id, err
	}
	rooms, err := claimStrings(c, a.cfg.RoomsClaim)
	if err != nil {
		return id, err
	}
	if id.Rooms, err = roomSet(rooms); err != nil {
		return id, fmt.Errorf("claim %s: %w", a.cfg.RoomsClaim, err)
	}
	patterns, err := claimStrings(c, a.cfg.GrantsClaim)
	if err != nil {
		return id, err
	}
	if id.RoomGrants, err = grantSet(id.Rooms, patterns); err != nil {
		return id, fmt.Errorf("claim %s: %w", a.cfg.GrantsClaim, err)
	}
	id.Restricted = true
	if raw, ok := c[a.cfg.AcceptsClaim]; ok && raw != nil {
		list, ok := raw.([]any)
		if !ok {
			return id, fmt.Errorf("claim %s is %T, want a list of operations", a.cfg.AcceptsClaim, raw)
		}
		for _, v := range list {
			op, err := claimInt(v, math.MinInt32, math.MaxInt32)
			if err != nil {
				return id, fmt.Errorf("claim %s: %w", a.cfg.AcceptsClaim, err)
			}
			id.Accepts = append(id.Accepts, int32(op))
		}
	}
	return id, nil
}

// claimInt reads an integer given as a JSON number or a decimal string.
func claimInt(v any, lo, hi int64) (int64, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return 0, errors.New("missing")
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		return 0, fmt.Errorf("%v is %T, want an integer", v, v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not an integer in [%d, %d]", s, lo, hi)
	}
	return n, nil
}

func claimString(c jwt.MapClaims, name string) (string, error) {
	switch v := c[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("claim %s is %T, want a string", name, v)
	}
}

// claimStrings reads a list of strings, or one string as a list of one.
func claimStrings(c jwt.MapClaims, name string) ([]string, error) {
	switch v := c[name].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("claim %s holds %T, want strings", name, e)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("claim %s is %T, want a list of strings", name, v)
	}
}
