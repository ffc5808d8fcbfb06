package push

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// HTTP pushes through goim's HTTP API (POST /goim/push/{keys,mids,room,all},
// body = the message).
type HTTP struct {
	base   string
	client *http.Client
}

// NewHTTP returns a pusher for the API at addr (host:port or a URL).
// conns bounds the keep-alive connections it holds.
func NewHTTP(addr string, conns int) *HTTP {
	base := addr
	if !hasScheme(base) {
		base = "http://" + base
	}
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &HTTP{base: base, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

func hasScheme(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// URL builds the request URL of a push, exactly as goim's tools do.
func (h *HTTP) URL(t Target) (string, error) {
	q := url.Values{}
	q.Set("operation", strconv.Itoa(int(t.Op)))
	switch t.Kind {
	case Keys:
		for _, k := range t.Keys {
			q.Add("keys", k)
		}
	case Mids:
		for _, m := range t.Mids {
			q.Add("mids", strconv.FormatInt(m, 10))
		}
	case Room:
		typ, id, err := SplitRoom(t.Room)
		if err != nil {
			return "", err
		}
		q.Set("type", typ)
		q.Set("room", id)
	case All:
		q.Set("speed", strconv.Itoa(int(t.Speed)))
	default:
		return "", fmt.Errorf("push: unknown kind %q", t.Kind)
	}
	return h.base + "/goim/push/" + t.Kind + "?" + q.Encode(), nil
}

// envelope is goim's HTTP reply.
type envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Push posts body and checks goim's envelope: HTTP 200 and code 0.
func (h *HTTP) Push(ctx context.Context, t Target, body []byte) error {
	u, err := h.URL(t)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("push: %s: %w", t.Kind, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("push: %s: read reply: %w", t.Kind, err)
	}
	var env envelope
	if jerr := json.Unmarshal(raw, &env); jerr != nil || resp.StatusCode != http.StatusOK || env.Code != 0 {
		return fmt.Errorf("push: %s: HTTP %d: %.200s", t.Kind, resp.StatusCode, raw)
	}
	return nil
}

// Close drops idle connections.
func (h *HTTP) Close() error {
	h.client.CloseIdleConnections()
	return nil
}
