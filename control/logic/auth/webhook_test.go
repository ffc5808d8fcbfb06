package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is an app backend on loopback: it answers per token from a table
// and counts requests.
type backend struct {
	url  string
	hits atomic.Int64
}

func newBackend(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, token string)) *backend {
	t.Helper()
	b := &backend{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/octet-stream" {
			http.Error(w, "want POST application/octet-stream", http.StatusMethodNotAllowed)
			return
		}
		body, _ := io.ReadAll(r.Body)
		answer(w, r, string(body))
	}))
	t.Cleanup(srv.Close)
	b.url = srv.URL + "/auth"
	return b
}

// appAnswers is a typical backend: token "good-<n>" is user n.
func appAnswers(w http.ResponseWriter, r *http.Request, token string) {
	switch {
	case strings.HasPrefix(token, "good-"):
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"mid":%s,"key":"dev","rooms":["live://1","live://2"],"room_id":"live://1","accepts":[1000],"platform":"ios","extra":1}`, strings.TrimPrefix(token, "good-"))
	case token == "keyless":
		fmt.Fprint(w, `{"allow":true,"mid":"7"}`)
	case token == "banned":
		fmt.Fprint(w, `{"allow":false,"reason":"user banned"}`)
	case token == "unauthorized":
		http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
	case token == "forbidden":
		w.WriteHeader(http.StatusForbidden)
	case token == "broken":
		http.Error(w, "db down", http.StatusInternalServerError)
	case token == "garbage-answer":
		fmt.Fprint(w, `<html>oops</html>`)
	case token == "bad-room-answer":
		fmt.Fprint(w, `{"mid":1,"rooms":["nope"]}`)
	case token == "no-mid":
		fmt.Fprint(w, `{"key":"k"}`)
	case token == "slow":
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		fmt.Fprint(w, `{"mid":1}`)
	default:
		http.Error(w, "unknown token", http.StatusUnauthorized)
	}
}

func newWebhookAuth(t *testing.T, url string, mod func(*WebhookConfig)) Authenticator {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Mode, cfg.Webhook.URL = ModeWebhook, url
	cfg.Webhook.Timeout = 300 * time.Millisecond
	if mod != nil {
		mod(&cfg.Webhook)
	}
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestWebhook(t *testing.T) {
	b := newBackend(t, appAnswers)
	a := newWebhookAuth(t, b.url, func(c *WebhookConfig) { c.CacheTTL = 0 })
	ctx := context.Background()

	got, err := a.Authenticate(ctx, []byte(" good-42\n"))
	if err != nil {
		t.Fatal(err)
	}
	assertIdentity(t, got, Identity{Mid: 42, Key: "dev", Rooms: []string{"live://1", "live://2"}, Accepts: []int32{1000}, Platform: "ios"})

	got, err = a.Authenticate(ctx, []byte("keyless"))
	if err != nil || got.Mid != 7 || got.Key == "" {
		t.Fatalf("keyless answer: %+v, %v", got, err)
	}

	for _, tok := range []string{"banned", "unauthorized", "forbidden", "unknown", "expired-or-whatever"} {
		if _, err := a.Authenticate(ctx, []byte(tok)); !errors.Is(err, ErrRefused) {
			t.Errorf("token %q: err = %v, want ErrRefused", tok, err)
		}
	}
	before := b.hits.Load()
	for _, tok := range []string{"", "  \n", strings.Repeat("x", maxToken+1)} {
		if _, err := a.Authenticate(ctx, []byte(tok)); !errors.Is(err, ErrRefused) {
			t.Errorf("token of %d bytes: err = %v, want ErrRefused", len(tok), err)
		}
	}
	if b.hits.Load() != before {
		t.Error("empty or oversized tokens reached the backend")
	}
	// The backend's faults are outages, not the device's refusal.
	for _, tok := range []string{"broken", "garbage-answer", "bad-room-answer", "no-mid", "slow"} {
		start := time.Now()
		_, err := a.Authenticate(ctx, []byte(tok))
		if err == nil || errors.Is(err, ErrRefused) {
			t.Errorf("token %q: err = %v, want an internal failure", tok, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("token %q took %v with a 300ms timeout", tok, d)
		}
	}
	// The caller's deadline applies too.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := a.Authenticate(cctx, []byte("slow")); err == nil || errors.Is(err, ErrRefused) {
		t.Errorf("slow with caller deadline: err = %v", err)
	}
}

func TestWebhookDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	a := newWebhookAuth(t, url, nil)
	if _, err := a.Authenticate(context.Background(), []byte("good-1")); err == nil || errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want an internal failure", err)
	}
}

func TestWebhookCache(t *testing.T) {
	b := newBackend(t, appAnswers)
	a := newWebhookAuth(t, b.url, func(c *WebhookConfig) { c.CacheTTL = time.Minute; c.CacheSize = 2 })
	// The cache's clock is the test's, so a slow machine cannot expire
	// entries early.
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	a.(withKey).Authenticator.(*webhookAuth).cache.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	ctx := context.Background()
	auth := func(tok string) Identity {
		t.Helper()
		id, err := a.Authenticate(ctx, []byte(tok))
		if err != nil {
			t.Fatalf("%s: %v", tok, err)
		}
		return id
	}
	first := auth("good-1")
	first.Rooms[0] = "mutated://by-caller"
	again := auth("good-1")
	if b.hits.Load() != 1 {
		t.Fatalf("backend hits = %d after a repeat, want 1 (cached)", b.hits.Load())
	}
	if again.Rooms[0] != "live://1" {
		t.Fatalf("cached identity was changed through a caller's slice: %v", again.Rooms)
	}
	// Refusals are not cached: a user the backend just unbanned gets in.
	for range 2 {
		if _, err := a.Authenticate(ctx, []byte("banned")); !errors.Is(err, ErrRefused) {
			t.Fatal(err)
		}
	}
	if b.hits.Load() != 3 {
		t.Fatalf("backend hits = %d, want 3 (refusals asked each time)", b.hits.Load())
	}
	// Generated keys are made after the cache: two devices with one token
	// must not share a key.
	k1, k2 := auth("keyless").Key, auth("keyless").Key
	if k1 == k2 {
		t.Fatalf("two connections got generated key %q", k1)
	}
	// Bounded: good-1 is the least recently used of three; size 2 evicts it.
	auth("good-2")
	hits := b.hits.Load()
	auth("good-1")
	if b.hits.Load() != hits+1 {
		t.Fatalf("good-1 served from a cache of size 2 after 3 newer tokens")
	}
	// Entries expire.
	hits = b.hits.Load()
	auth("good-1")
	if b.hits.Load() != hits {
		t.Fatalf("fresh cache entry not served")
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	auth("good-1")
	if b.hits.Load() != hits+1 {
		t.Fatalf("expired cache entry was served")
	}
}

func TestWebhookConfigRefused(t *testing.T) {
	for name, mod := range map[string]func(*WebhookConfig){
		"no url":         func(c *WebhookConfig) { c.URL = "" },
		"not http":       func(c *WebhookConfig) { c.URL = "ftp://x/y" },
		"zero timeout":   func(c *WebhookConfig) { c.Timeout = 0 },
		"cache no size":  func(c *WebhookConfig) { c.CacheSize = 0 },
		"negative cache": func(c *WebhookConfig) { c.CacheTTL = -time.Second },
	} {
		cfg := DefaultConfig()
		cfg.Mode, cfg.Webhook.URL = ModeWebhook, "http://127.0.0.1:1/auth"
		mod(&cfg.Webhook)
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg.Webhook)
		}
	}
}

func TestTTLCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTTLCache[string, int](3, time.Minute)
	c.now = func() time.Time { return now }
	c.Put("a", 1)
	c.Put("b", 2)
	c.Put("c", 3)
	if _, ok := c.Get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.Put("d", 4) // evicts b, the least recently used
	if _, ok := c.Get("b"); ok {
		t.Fatal("b not evicted")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	c.Put("a", 10)
	if v, _ := c.Get("a"); v != 10 || c.Len() != 3 {
		t.Fatalf("update: a=%d len=%d", v, c.Len())
	}
	now = now.Add(time.Minute)
	if _, ok := c.Get("a"); ok {
		t.Fatal("expired entry served")
	}
	if c.Len() != 2 {
		t.Fatalf("expired entry kept: len %d", c.Len())
	}
}

// FuzzWebhookAnswer: any 2xx answer is either an error (refusal only when
// it says allow:false) or an identity that meets the token rules.
func FuzzWebhookAnswer(f *testing.F) {
	for _, s := range []string{
		`{"mid":42,"key":"dev","rooms":["live://1"],"room_id":"live://2","accepts":[1000],"platform":"ios"}`,
		`{"allow":false,"reason":"banned"}`, `{"allow":true,"mid":"7"}`, `{"mid":1.5}`, `[]`, `null`, ``,
		`{"mid":1,"room_id":"live://1","room_grants":["live://1","chat://*","*",""]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := parseAnswer("http://backend", 200, body)
		if err != nil {
			return
		}
		checkAccepted(t, id)
	})
}

// TestWebhookSharesInflight: devices authenticating with one token at once
// cost the backend one request, and each gets its own copy and key.
func TestWebhookSharesInflight(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request, token string) {
		<-release
		fmt.Fprint(w, `{"mid":5,"rooms":["live://1"]}`)
	})
	a := newWebhookAuth(t, b.url, func(c *WebhookConfig) { c.CacheTTL = 0; c.Timeout = 5 * time.Second })
	const n = 8
	type result struct {
		id  Identity
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			id, err := a.Authenticate(context.Background(), []byte("same-token"))
			results <- result{id, err}
		}()
	}
	// The backend answers once every caller waits for the request in
	// flight.
	deadline := time.Now().Add(10 * time.Second)
	for b.hits.Load() == 0 || waitingAuthenticates() < n {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: backend asked %d times, %d of %d callers waiting", b.hits.Load(), waitingAuthenticates(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	keys := map[string]bool{}
	for range n {
		r := <-results
		if r.err != nil || r.id.Mid != 5 {
			t.Fatalf("caller got %+v, %v", r.id, r.err)
		}
		keys[r.id.Key] = true
	}
	if len(keys) != n {
		t.Fatalf("%d callers got %d distinct keys", n, len(keys))
	}
	if h := b.hits.Load(); h != 1 {
		t.Fatalf("backend asked %d times for one token, want 1", h)
	}
}

// waitingAuthenticates counts the goroutines blocked in
// webhookAuth.Authenticate's wait for an answer.
func waitingAuthenticates() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, " [select") && strings.Contains(g, ".(*webhookAuth).Authenticate(") {
			count++
		}
	}
	return count
}
