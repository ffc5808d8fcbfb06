package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKeys are generated once: RSA generation is slow under -race.
var testKeys = sync.OnceValue(func() (k struct {
	secret, otherSecret []byte
	rsa, otherRSA       *rsa.PrivateKey
	ec, otherEC         *ecdsa.PrivateKey
}) {
	k.secret = []byte("0123456789abcdef0123456789abcdef-secret")
	k.otherSecret = []byte("fedcba9876543210fedcba9876543210-other!")
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.otherRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.otherEC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func publicPEM(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims, kid string) []byte {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

func goodClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub":      "42",
		"exp":      time.Now().Add(time.Hour).Unix(),
		"iat":      time.Now().Unix(),
		"rooms":    []string{"live://1", "live://2", "live://1"},
		"accepts":  []int{1000, 1001},
		"key":      "dev-1",
		"platform": "android",
	}
}

func with(c jwt.MapClaims, mod func(jwt.MapClaims)) jwt.MapClaims {
	mod(c)
	return c
}

var wantGood = Identity{Mid: 42, Key: "dev-1", Rooms: []string{"live://1", "live://2"}, Accepts: []int32{1000, 1001}, Platform: "android"}

// jwtMode is one way of configuring jwt mode, with signers for its own key
// and for a stranger's key of the same kind.
type jwtMode struct {
	name        string
	cfg         func(t *testing.T) JWTConfig
	sign, wrong func(t *testing.T, c jwt.MapClaims) []byte
}

func jwtModes() []jwtMode {
	k := testKeys()
	base := DefaultConfig().JWT
	return []jwtMode{
		{
			name: "HS256 secret file",
			cfg: func(t *testing.T) JWTConfig {
				c := base
				c.Alg, c.KeyFile = "HS256", writeFile(t, "secret", append(k.secret, '\n'))
				return c
			},
			sign: func(t *testing.T, c jwt.MapClaims) []byte { return sign(t, jwt.SigningMethodHS256, k.secret, c, "") },
			wrong: func(t *testing.T, c jwt.MapClaims) []byte {
				return sign(t, jwt.SigningMethodHS256, k.otherSecret, c, "")
			},
		},
		{
			name: "RS256 PEM",
			cfg: func(t *testing.T) JWTConfig {
				c := base
				c.Alg, c.KeyFile = "RS256", writeFile(t, "rsa.pem", publicPEM(t, &k.rsa.PublicKey))
				return c
			},
			sign:  func(t *testing.T, c jwt.MapClaims) []byte { return sign(t, jwt.SigningMethodRS256, k.rsa, c, "") },
			wrong: func(t *testing.T, c jwt.MapClaims) []byte { return sign(t, jwt.SigningMethodRS256, k.otherRSA, c, "") },
		},
		{
			name: "ES256 PEM",
			cfg: func(t *testing.T) JWTConfig {
				c := base
				c.Alg, c.KeyFile = "ES256", writeFile(t, "ec.pem", publicPEM(t, &k.ec.PublicKey))
				return c
			},
			sign:  func(t *testing.T, c jwt.MapClaims) []byte { return sign(t, jwt.SigningMethodES256, k.ec, c, "") },
			wrong: func(t *testing.T, c jwt.MapClaims) []byte { return sign(t, jwt.SigningMethodES256, k.otherEC, c, "") },
		},
		{
			name: "ES256 JWKS",
			cfg: func(t *testing.T) JWTConfig {
				c := base
				c.Alg, c.JWKSURL = "ES256", jwksServer(t, map[string]*ecdsa.PublicKey{"k1": &k.ec.PublicKey})
				return c
			},
			sign: func(t *testing.T, c jwt.MapClaims) []byte { return sign(t, jwt.SigningMethodES256, k.ec, c, "k1") },
			// A stranger's key under the served kid.
			wrong: func(t *testing.T, c jwt.MapClaims) []byte { return sign(t, jwt.SigningMethodES256, k.otherEC, c, "k1") },
		},
	}
}

// jwksServer serves the EC public keys as a JWK Set on loopback.
func jwksServer(t *testing.T, keys map[string]*ecdsa.PublicKey) string {
	t.Helper()
	url, _ := rotatingJWKS(t, keys)
	return url
}

// rotatingJWKS serves a JWK Set whose keys the test can replace.
func rotatingJWKS(t *testing.T, keys map[string]*ecdsa.PublicKey) (string, func(map[string]*ecdsa.PublicKey)) {
	t.Helper()
	var body atomic.Pointer[[]byte]
	set := func(keys map[string]*ecdsa.PublicKey) {
		b64 := base64.RawURLEncoding.EncodeToString
		var jwks struct {
			Keys []map[string]string `json:"keys"`
		}
		for kid, pub := range keys {
			// The uncompressed point: 0x04, then X and Y, 32 bytes each.
			pt, err := pub.Bytes()
			if err != nil {
				t.Error(err)
				return
			}
			jwks.Keys = append(jwks.Keys, map[string]string{
				"kty": "EC", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:65]),
				"kid": kid, "alg": "ES256", "use": "sig",
			})
		}
		b, err := json.Marshal(jwks)
		if err != nil {
			t.Error(err)
			return
		}
		body.Store(&b)
	}
	set(keys)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*body.Load())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/jwks.json", set
}

// TestJWKSRotation: a token signed with a key the set gained after start
// (its kid unknown so far) is accepted once the set is refetched.
func TestJWKSRotation(t *testing.T) {
	k := testKeys()
	url, set := rotatingJWKS(t, map[string]*ecdsa.PublicKey{"old": &k.ec.PublicKey})
	c := DefaultConfig().JWT
	c.Alg, c.JWKSURL = "ES256", url
	a := newJWTAuth(t, c)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, sign(t, jwt.SigningMethodES256, k.ec, goodClaims(), "old")); err != nil {
		t.Fatalf("old key: %v", err)
	}
	set(map[string]*ecdsa.PublicKey{"old": &k.ec.PublicKey, "new": &k.otherEC.PublicKey})
	if _, err := a.Authenticate(ctx, sign(t, jwt.SigningMethodES256, k.otherEC, goodClaims(), "new")); err != nil {
		t.Fatalf("rotated-in key: %v", err)
	}
	// A kid nobody published stays refused (and does not refetch again).
	if _, err := a.Authenticate(ctx, sign(t, jwt.SigningMethodES256, k.otherEC, goodClaims(), "forged")); !errors.Is(err, ErrRefused) {
		t.Fatalf("unknown kid: err = %v, want ErrRefused", err)
	}
}

func newJWTAuth(t *testing.T, c JWTConfig) Authenticator {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Mode, cfg.JWT = ModeJWT, c
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.(interface{ Close() error }).Close() })
	return a
}

func TestJWT(t *testing.T) {
	for _, m := range jwtModes() {
		t.Run(m.name, func(t *testing.T) {
			a := newJWTAuth(t, m.cfg(t))
			ctx := context.Background()
			ok := []struct {
				name  string
				token []byte
				want  Identity
			}{
				{"valid", m.sign(t, goodClaims()), wantGood},
				{"numeric sub", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["sub"] = 42 })), wantGood},
				{"big sub stays exact", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["sub"] = "9007199254740993" })),
					Identity{Mid: 9007199254740993, Key: "dev-1", Rooms: wantGood.Rooms, Accepts: wantGood.Accepts, Platform: "android"}},
				{"single room string", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["rooms"] = "live://9" })),
					Identity{Mid: 42, Key: "dev-1", Rooms: []string{"live://9"}, Accepts: wantGood.Accepts, Platform: "android"}},
				{"expired within leeway", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-5 * time.Second).Unix() })), wantGood},
			}
			for _, tc := range ok {
				got, err := a.Authenticate(ctx, tc.token)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				assertIdentity(t, got, tc.want)
			}
			// No key claim: a fresh UUID per connection.
			tok := m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { delete(c, "key") }))
			one, err1 := a.Authenticate(ctx, tok)
			two, err2 := a.Authenticate(ctx, tok)
			if err1 != nil || err2 != nil || one.Key == "" || one.Key == two.Key {
				t.Fatalf("keyless token: keys %q %q, errs %v %v", one.Key, two.Key, err1, err2)
			}

			refused := []struct {
				name  string
				token []byte
			}{
				{"expired", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))},
				{"no exp", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { delete(c, "exp") }))},
				{"not yet valid", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }))},
				{"issued in the future", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }))},
				{"wrong key", m.wrong(t, goodClaims())},
				{"alg none", []byte(mustNone(t, goodClaims()))},
				{"tampered payload", tamper(m.sign(t, goodClaims()))},
				{"garbage", []byte("not a token")},
				{"three garbage parts", []byte("a.b.c")},
				{"empty", nil},
				{"goim json token", []byte(`{"mid":42,"key":"","room_id":"live://1"}`)},
				{"no sub", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { delete(c, "sub") }))},
				{"sub not numeric", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["sub"] = "alice" }))},
				{"sub fraction", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["sub"] = 1.5 }))},
				{"bad room", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["rooms"] = []string{"nope"} }))},
				{"rooms not strings", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["rooms"] = []int{1} }))},
				{"accepts over int32", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["accepts"] = []int64{1 << 40} }))},
				{"accepts not a list", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["accepts"] = "1000" }))},
				{"key with space", m.sign(t, with(goodClaims(), func(c jwt.MapClaims) { c["key"] = "a b" }))},
			}
			for _, tc := range refused {
				if _, err := a.Authenticate(ctx, tc.token); !errors.Is(err, ErrRefused) {
					t.Errorf("%s: err = %v, want ErrRefused", tc.name, err)
				}
			}
		})
	}
}

func mustNone(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tamper raises the mid in the payload, keeping the signature.
func tamper(tok []byte) []byte {
	parts := strings.Split(string(tok), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"sub":"42"`, `"sub":"1"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return []byte(strings.Join(parts, "."))
}

// TestJWTAlgMismatch: a token signed with another algorithm than the pinned
// one is refused, including the classic trick of HMAC-signing with the RSA
// public key.
func TestJWTAlgMismatch(t *testing.T) {
	k := testKeys()
	pubPEM := publicPEM(t, &k.rsa.PublicKey)
	c := DefaultConfig().JWT
	c.Alg, c.KeyFile = "RS256", writeFile(t, "rsa.pem", pubPEM)
	a := newJWTAuth(t, c)
	for name, tok := range map[string][]byte{
		"HS256 with the public key as secret": sign(t, jwt.SigningMethodHS256, pubPEM, goodClaims(), ""),
		"RS512 with the right key":            sign(t, jwt.SigningMethodRS512, k.rsa, goodClaims(), ""),
		"ES256":                               sign(t, jwt.SigningMethodES256, k.ec, goodClaims(), ""),
	} {
		if _, err := a.Authenticate(context.Background(), tok); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err = %v, want ErrRefused", name, err)
		}
	}
}

func TestJWTIssuerAudience(t *testing.T) {
	k := testKeys()
	c := DefaultConfig().JWT
	c.Alg, c.KeyFile = "HS256", writeFile(t, "secret", k.secret)
	c.Issuer, c.Audience = "https://id.example", "goim"
	a := newJWTAuth(t, c)
	good := with(goodClaims(), func(m jwt.MapClaims) { m["iss"] = "https://id.example"; m["aud"] = "goim" })
	if _, err := a.Authenticate(context.Background(), sign(t, jwt.SigningMethodHS256, k.secret, good, "")); err != nil {
		t.Fatalf("matching iss/aud: %v", err)
	}
	for name, mod := range map[string]func(jwt.MapClaims){
		"wrong iss": func(m jwt.MapClaims) { m["iss"] = "https://evil.example"; m["aud"] = "goim" },
		"wrong aud": func(m jwt.MapClaims) { m["iss"] = "https://id.example"; m["aud"] = "other" },
		"no iss":    func(m jwt.MapClaims) { m["aud"] = "goim" },
	} {
		tok := sign(t, jwt.SigningMethodHS256, k.secret, with(goodClaims(), mod), "")
		if _, err := a.Authenticate(context.Background(), tok); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err = %v, want ErrRefused", name, err)
		}
	}
}

// TestJWKSUnreachable: a key set that never loaded is an outage, not the
// device's fault, so the error must not claim a refusal.
func TestJWKSUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/jwks.json"
	l.Close() // nothing listens there any more
	c := DefaultConfig().JWT
	c.Alg, c.JWKSURL = "ES256", url
	a := newJWTAuth(t, c)
	tok := sign(t, jwt.SigningMethodES256, testKeys().ec, goodClaims(), "k1")
	_, err = a.Authenticate(context.Background(), tok)
	if err == nil || errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want an internal failure", err)
	}
}

func TestJWTConfigRefused(t *testing.T) {
	k := testKeys()
	ecPEM := publicPEM(t, &k.ec.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	cases := map[string]func(c *JWTConfig){
		"no key":            func(c *JWTConfig) {},
		"key and jwks":      func(c *JWTConfig) { c.KeyFile, c.JWKSURL = writeFile(t, "s", k.secret), "http://127.0.0.1:1/" },
		"short secret":      func(c *JWTConfig) { c.KeyFile = writeFile(t, "s", []byte("short")) },
		"missing file":      func(c *JWTConfig) { c.KeyFile = filepath.Join(t.TempDir(), "absent") },
		"bad alg":           func(c *JWTConfig) { c.Alg, c.KeyFile = "HS512", writeFile(t, "s", k.secret) },
		"HS256 with jwks":   func(c *JWTConfig) { c.JWKSURL = "http://127.0.0.1:1/jwks" },
		"jwks not http":     func(c *JWTConfig) { c.Alg, c.JWKSURL = "ES256", "file:///etc/passwd" },
		"RS256 with EC key": func(c *JWTConfig) { c.Alg, c.KeyFile = "RS256", writeFile(t, "ec.pem", ecPEM) },
		"ES256 with P-384": func(c *JWTConfig) {
			c.Alg, c.KeyFile = "ES256", writeFile(t, "p384.pem", publicPEM(t, &p384.PublicKey))
		},
		"ES256 not PEM":     func(c *JWTConfig) { c.Alg, c.KeyFile = "ES256", writeFile(t, "junk", []byte("junk")) },
		"negative leeway":   func(c *JWTConfig) { c.KeyFile, c.Leeway = writeFile(t, "s", k.secret), -time.Second },
		"empty rooms claim": func(c *JWTConfig) { c.KeyFile, c.RoomsClaim = writeFile(t, "s", k.secret), "" },
	}
	for name, mod := range cases {
		cfg := DefaultConfig()
		cfg.Mode = ModeJWT
		mod(&cfg.JWT)
		if a, err := New(cfg, nil); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg.JWT)
			_ = a.(interface{ Close() error }).Close()
		}
	}
}

func TestConfigModes(t *testing.T) {
	for _, mode := range []string{"", "JSON", "ldap"} {
		cfg := DefaultConfig()
		cfg.Mode = mode
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("mode %q accepted", mode)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
}

func BenchmarkJWTAuthHS256(b *testing.B) {
	k := testKeys()
	dir := b.TempDir()
	p := filepath.Join(dir, "secret")
	if err := os.WriteFile(p, k.secret, 0o600); err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Mode, cfg.JWT.KeyFile = ModeJWT, p
	a, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, goodClaims()).SignedString(k.secret)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Authenticate(ctx, []byte(tok)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
