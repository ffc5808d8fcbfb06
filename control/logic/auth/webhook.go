package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// webhookAuth asks the app backend about each token.
//
// Request: POST {url}, Content-Type application/octet-stream, body = the
// device's auth frame body byte for byte (surrounding whitespace trimmed).
//
// Answer:
//   - 2xx with a JSON object:
//     {"allow":true,"mid":123,"key":"dev-1","rooms":["live://1000"],
//     "room_id":"live://1000","accepts":[1000],"platform":"web","reason":"",
//     "room_grants":["live://2000","chat://*"]}
//     "allow" defaults to true; "allow":false refuses (with an optional
//     "reason" that is logged). mid is a number or a decimal string; key
//     empty → a server-made UUID; rooms ∪ room_id are validated like the
//     json mode's. The device may be in rooms ∪ room_id and the rooms
//     room_grants names (room ids, or prefixes ending in "*"), no others.
//     Unknown fields are ignored.
//   - 4xx: the token is refused (the start of the body is kept as reason).
//   - anything else (5xx, redirects, unreadable 2xx body, timeout, network
//     error): an internal failure, not a refusal — the edge closes the
//     device, which reconnects, and may try another logic instance.
//
// Positive answers are cached for CacheTTL by the token's SHA-256, so a
// reconnect storm costs the backend one request per token.
//
// Concurrent requests with the same token (one user's devices reconnecting
// together) share one backend request.
type webhookAuth struct {
	url      string
	client   *http.Client
	cache    *ttlCache[[sha256.Size]byte, Identity]
	inflight singleflight.Group
}

// maxWebhookAnswer bounds the backend's answer read into memory.
const maxWebhookAnswer = 64 << 10

func newWebhook(cfg WebhookConfig) (*webhookAuth, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64 // every Connect goes to one host
	a := &webhookAuth{
		url:    cfg.URL,
		client: &http.Client{Timeout: cfg.Timeout, Transport: tr},
	}
	if cfg.CacheTTL > 0 {
		a.cache = newTTLCache[[sha256.Size]byte, Identity](cfg.CacheSize, cfg.CacheTTL)
	}
	return a, nil
}

// webhookAnswer is the backend's JSON answer.
type webhookAnswer struct {
	Allow    *bool           `json:"allow"`
	Reason   string          `json:"reason"`
	Mid      json.RawMessage `json:"mid"`
	Key      string          `json:"key"`
	RoomID   string          `json:"room_id"`
	Rooms    []string        `json:"rooms"`
	Accepts  []int32         `json:"accepts"`
	Platform string          `json:"platform"`
	Grants   []string        `json:"room_grants"`
}

func (a *webhookAuth) Authenticate(ctx context.Context, token []byte) (Identity, error) {
	token = bytes.TrimSpace(token)
	if len(token) == 0 || len(token) > maxToken {
		return Identity{}, refusedf("webhook: token of %d bytes", len(token))
	}
	sum := sha256.Sum256(token)
	if a.cache != nil {
		if id, ok := a.cache.Get(sum); ok {
			webhookCacheTotal.WithLabelValues("hit").Inc()
			return cloneIdentity(id), nil
		}
		webhookCacheTotal.WithLabelValues("miss").Inc()
	}
	// The shared request must not die with whichever caller started it;
	// the client timeout bounds it, and each caller still leaves at its own
	// deadline.
	ch := a.inflight.DoChan(string(sum[:]), func() (any, error) {
		start := time.Now()
		id, err := a.ask(context.WithoutCancel(ctx), token)
		webhookSeconds.Observe(time.Since(start).Seconds())
		if err == nil && a.cache != nil {
			a.cache.Put(sum, id)
		}
		return id, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Identity{}, res.Err
		}
		return cloneIdentity(res.Val.(Identity)), nil
	case <-ctx.Done():
		return Identity{}, fmt.Errorf("auth: webhook %s: %w", a.url, ctx.Err())
	}
}

func (a *webhookAuth) ask(ctx context.Context, token []byte) (Identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(token))
	if err != nil {
		return Identity{}, fmt.Errorf("auth: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := a.client.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("auth: webhook %s: %w", a.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWebhookAnswer+1))
	if err != nil {
		return Identity{}, fmt.Errorf("auth: webhook %s: read answer: %w", a.url, err)
	}
	return parseAnswer(a.url, resp.StatusCode, body)
}

// parseAnswer judges the backend's answer as documented on webhookAuth.
func parseAnswer(url string, status int, body []byte) (Identity, error) {
	switch {
	case status >= 400 && status < 500:
		return Identity{}, refusedf("webhook answered %d: %s", status, snippet(body))
	case status < 200 || status > 299:
		return Identity{}, fmt.Errorf("auth: webhook %s answered %d: %s", url, status, snippet(body))
	case len(body) > maxWebhookAnswer:
		return Identity{}, fmt.Errorf("auth: webhook %s: answer over %d bytes", url, maxWebhookAnswer)
	}
	var ans webhookAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return Identity{}, fmt.Errorf("auth: webhook %s: answer is not the documented JSON: %w", url, err)
	}
	if ans.Allow != nil && !*ans.Allow {
		return Identity{}, refusedf("webhook refused: %s", snippet([]byte(ans.Reason)))
	}
	return ans.identity(url)
}

// identity checks an allowing answer; a malformed one is the backend's
// bug, reported as an internal failure rather than blamed on the device.
func (ans webhookAnswer) identity(url string) (Identity, error) {
	var raw any
	if len(ans.Mid) > 0 {
		dec := json.NewDecoder(bytes.NewReader(ans.Mid))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return Identity{}, fmt.Errorf("auth: webhook %s: mid: %w", url, err)
		}
	}
	mid, err := claimInt(raw, -1<<63, 1<<63-1)
	if err != nil {
		return Identity{}, fmt.Errorf("auth: webhook %s: mid %w", url, err)
	}
	if err := checkKey(ans.Key); err != nil {
		return Identity{}, fmt.Errorf("auth: webhook %s: %w", url, err)
	}
	rooms, err := roomSet([]string{ans.RoomID}, ans.Rooms)
	if err != nil {
		return Identity{}, fmt.Errorf("auth: webhook %s: %w", url, err)
	}
	grants, err := grantSet(rooms, ans.Grants)
	if err != nil {
		return Identity{}, fmt.Errorf("auth: webhook %s: %w", url, err)
	}
	return Identity{Mid: mid, Key: ans.Key, Rooms: rooms, Accepts: ans.Accepts, Platform: ans.Platform, Restricted: true, RoomGrants: grants}, nil
}

func cloneIdentity(id Identity) Identity {
	id.Rooms = append([]string(nil), id.Rooms...)
	id.Accepts = append([]int32(nil), id.Accepts...)
	if id.RoomGrants != nil {
		id.RoomGrants = append([]string{}, id.RoomGrants...)
	}
	return id
}

// snippet keeps log lines short and printable whatever the backend sent.
func snippet(b []byte) string {
	const max = 200
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}
