package logic

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// Upstream is one message a device sent up through its edge (goim op 4).
type Upstream struct {
	Mid    int64
	Key    string
	Op     int32
	Body   []byte
	Server string
}

// Receiver is where upstream messages go. Receive returns once the message
// is handed over; an error tells the edge it was not.
type Receiver interface {
	Receive(ctx context.Context, m Upstream) error
}

// NewReceiver builds the receiver Config.Receive asks for: a webhook when a
// URL is set, otherwise a debug log (goim's logic only logs them).
func NewReceiver(cfg ReceiveConfig, log *slog.Logger) (Receiver, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.URL == "" {
		return logReceiver{log: log}, nil
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("logic: receive.url %q must be an http(s) URL", cfg.URL)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultConfig().Receive.Timeout
	}
	return &webhookReceiver{
		url:   cfg.URL,
		token: cfg.Token,
		client: &http.Client{
			Timeout: timeout,
			// Upstream messages arrive concurrently from every edge; keep
			// enough idle connections that they do not each dial anew
			// (net/http keeps 2 per host by default).
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				MaxIdleConns:        webhookConns,
				MaxIdleConnsPerHost: webhookConns,
				IdleConnTimeout:     90 * time.Second,
				ForceAttemptHTTP2:   true,
			},
		},
	}, nil
}

// Receive hands an upstream message to the configured hook. At most
// Config.Receive.Parallel messages are handled at once; beyond that
// Receive fails at once with an error wrapping ErrBusy (counted as
// result "busy"), so a flood never queues work or webhook calls here.
func (l *Logic) Receive(ctx context.Context, req *logic.ReceiveReq) (*logic.ReceiveResp, error) {
	select {
	case l.receiving <- struct{}{}:
		defer func() { <-l.receiving }()
	default:
		receivesTotal.WithLabelValues("busy").Inc()
		return nil, fmt.Errorf("logic: receive from mid %d key %s: %w: %d upstream messages in progress", req.Mid, req.Key, ErrBusy, cap(l.receiving))
	}
	m := Upstream{Mid: req.Mid, Key: req.Key, Op: req.Op, Body: req.Body, Server: req.Server}
	if err := l.receiver.Receive(ctx, m); err != nil {
		receivesTotal.WithLabelValues("error").Inc()
		return nil, fmt.Errorf("logic: receive from mid %d key %s: %w", req.Mid, req.Key, err)
	}
	receivesTotal.WithLabelValues("ok").Inc()
	return &logic.ReceiveResp{}, nil
}

type logReceiver struct{ log *slog.Logger }

func (r logReceiver) Receive(ctx context.Context, m Upstream) error {
	r.log.DebugContext(ctx, "upstream message", "mid", m.Mid, "key", m.Key, "op", m.Op, "server", m.Server, "bytes", len(m.Body))
	return nil
}

// webhookConns is how many idle connections to the webhook are kept.
const webhookConns = 64

// webhookReceiver POSTs each message's raw body to the app backend; who
// sent it travels in headers so the body stays exactly what the device
// sent, whatever its format.
type webhookReceiver struct {
	url    string
	token  string
	client *http.Client
}

// Headers of a receive webhook request.
const (
	HeaderMid    = "X-Goim-Mid"
	HeaderKey    = "X-Goim-Key"
	HeaderOp     = "X-Goim-Op"
	HeaderServer = "X-Goim-Server"
)

func (r *webhookReceiver) Receive(ctx context.Context, m Upstream) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(m.Body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(HeaderMid, strconv.FormatInt(m.Mid, 10))
	req.Header.Set(HeaderKey, m.Key)
	req.Header.Set(HeaderOp, strconv.FormatInt(int64(m.Op), 10))
	req.Header.Set(HeaderServer, m.Server)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: status %d after %v", r.url, resp.StatusCode, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
