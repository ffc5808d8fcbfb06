package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// Transport names the protocol used with addresses from the node list.
type Transport string

// Transports. Fixed addresses (Options.Addrs) carry their own: host:port
// is TCP, ws:// and wss:// URLs are WebSocket.
const (
	TCP Transport = "tcp"
	WS  Transport = "ws"
	WSS Transport = "wss"
)

// Options configure a Client. Only a token and an address source
// (Addrs or NodesURL) are required.
type Options struct {
	// Addrs are fixed addresses, tried in order on every connect (the
	// next one when one fails): "host:port" for TCP, "ws://host:port/sub"
	// or "wss://host:port/sub" for WebSocket. With NodesURL they are the
	// fallback when the node list cannot be fetched.
	Addrs []string
	// NodesURL is logic's node list, e.g.
	// "http://logic:3111/goim/nodes/weighted?platform=android", fetched
	// before every connect; its nodes are dialled in order with the port
	// of Transport. Platform "web" gets host names (needed for wss),
	// others IPs.
	NodesURL string
	// Transport is the protocol used with NodesURL's nodes (default TCP).
	Transport Transport
	// WSPath is the WebSocket path used with NodesURL (default "/sub").
	WSPath string

	// Token is the auth body (op 7): a JSONToken's Bytes, a JWT, ...
	Token []byte
	// TokenFunc, when set, is called before every connect instead of
	// using Token, so an expiring JWT can be refreshed.
	TokenFunc func(ctx context.Context) ([]byte, error)

	// OnMessage receives every pushed message (ops the SDK does not
	// answer itself), each inner frame of a batch separately. It runs on
	// the client's dispatcher goroutine; see the package doc for ordering.
	OnMessage func(Message)
	// OnState receives connection state changes, in order with messages.
	OnState func(Event)
	// MessageBuffer is how many messages and events may wait for the
	// callbacks before the client stops reading (default 1024).
	MessageBuffer int

	// Heartbeat is the interval of heartbeats (op 2). Default 30 s, as
	// goim's JavaScript client; the edge closes a connection after
	// heartbeat × heartbeat_max without one (4 min × 2 by default).
	Heartbeat time.Duration
	// ReadTimeout: a connection on which nothing arrives for this long
	// (not even a heartbeat reply) is taken as dead and reconnected.
	// Default 2 × Heartbeat + 10 s.
	ReadTimeout time.Duration
	// DialTimeout bounds one dial plus auth (default 10 s).
	DialTimeout time.Duration
	// WriteTimeout bounds one write (default 10 s).
	WriteTimeout time.Duration
	// RequestTimeout bounds a request whose context has no earlier
	// deadline (default 10 s): the server drops requests over its
	// upstream rate without a reply.
	RequestTimeout time.Duration

	// Backoff is the reconnect policy (zero fields take the defaults).
	Backoff Backoff
	// AuthRefusedAfter is how many consecutive refusals — closes before
	// the auth reply from an edge that accepts connections (see the
	// package doc) — stop the client with ErrAuthRefused (default 3;
	// 1 = the first). The protocol has no refusal reply, and an edge
	// closes the same way when logic is briefly unreachable, so one close
	// alone would end clients during an outage.
	AuthRefusedAfter int

	// TLSConfig is used for wss (nil: system roots, host name from the URL).
	TLSConfig *tls.Config
	// DialContext, when set, dials every TCP connection (also under
	// WebSocket): custom source addresses, proxies, tests.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// HTTPClient fetches NodesURL (default: a client with a 5 s timeout
	// and no idle connections kept).
	HTTPClient *http.Client
	// Recovery, when set, opts the connection into the recovery
	// extension (docs/recovery.md): positions, resume after a reconnect,
	// duplicates dropped, acks. nil: plain goim pushes only.
	Recovery *RecoveryOptions

	// MaxFrameSize bounds one server frame (default: the largest push
	// body goim-edge allows plus the header). A WebSocket message may be
	// twice that (a batch).
	MaxFrameSize int
}

// Backoff is the reconnect delay policy: before retry n (counted from
// 0 since the last connection that lasted ResetAfter) the client waits a
// uniformly random delay in [Min, min(Max, Initial × Factor^n)] — full
// jitter, so that devices that lost the same edge spread out.
type Backoff struct {
	// Min is the smallest delay (default 100 ms), so a server that
	// closes at once is never hammered.
	Min time.Duration
	// Initial is the ceiling of the first delay (default 3 s, goim's
	// base_delay): wide enough that 1,000 devices put no more than about
	// 5% of their reconnects in any 100 ms.
	Initial time.Duration
	// Max caps the ceiling (default 2 min).
	Max time.Duration
	// Factor multiplies the ceiling after each failure (default 2).
	Factor float64
	// ResetAfter: a connection that lasted this long resets n to 0
	// (default 30 s); shorter ones (a server that accepts and drops at
	// once) keep the delays growing.
	ResetAfter time.Duration
}

// Default values.
const (
	DefaultHeartbeat        = 30 * time.Second
	DefaultDialTimeout      = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultRequestTimeout   = 10 * time.Second
	DefaultMessageBuffer    = 1024
	DefaultAuthRefusedAfter = 3
	DefaultWSPath           = "/sub"
)

// DefaultBackoff is the policy used for zero Backoff fields.
var DefaultBackoff = Backoff{Min: 100 * time.Millisecond, Initial: 3 * time.Second, Max: 2 * time.Minute, Factor: 2, ResetAfter: 30 * time.Second}

func (b Backoff) withDefaults() Backoff {
	d := DefaultBackoff
	if b.Min > 0 {
		d.Min = b.Min
	}
	if b.Initial > 0 {
		d.Initial = b.Initial
	}
	if b.Max > 0 {
		d.Max = b.Max
	}
	if b.Factor >= 1 {
		d.Factor = b.Factor
	}
	if b.ResetAfter > 0 {
		d.ResetAfter = b.ResetAfter
	}
	if d.Initial < d.Min {
		d.Initial = d.Min
	}
	if d.Max < d.Initial {
		d.Max = d.Initial
	}
	return d
}

// Delay is the delay before retry n for a uniform random u in [0, 1).
func (b Backoff) Delay(n int, u float64) time.Duration {
	ceil := float64(b.Initial)
	for i := 0; i < n && ceil < float64(b.Max); i++ {
		ceil *= b.Factor
	}
	ceil = min(ceil, float64(b.Max))
	return b.Min + time.Duration(u*(ceil-float64(b.Min)))
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Addrs) == 0 && o.NodesURL == "" {
		return o, fmt.Errorf("client: options: need Addrs or NodesURL")
	}
	if o.Token == nil && o.TokenFunc == nil {
		return o, fmt.Errorf("client: options: need Token or TokenFunc")
	}
	if o.Transport == "" {
		o.Transport = TCP
	}
	switch o.Transport {
	case TCP, WS, WSS:
	default:
		return o, fmt.Errorf("client: options: transport %q (want tcp, ws or wss)", o.Transport)
	}
	if o.WSPath == "" {
		o.WSPath = DefaultWSPath
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 2*o.Heartbeat + 10*time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MessageBuffer <= 0 {
		o.MessageBuffer = DefaultMessageBuffer
	}
	if o.AuthRefusedAfter <= 0 {
		o.AuthRefusedAfter = DefaultAuthRefusedAfter
	}
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = protocol.MaxPushBody + protocol.HeaderLen
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: http.ProxyFromEnvironment}}
	}
	if o.DialContext == nil {
		d := &net.Dialer{}
		o.DialContext = d.DialContext
	}
	o.Backoff = o.Backoff.withDefaults()
	if o.Recovery != nil {
		r := *o.Recovery
		r.Positions = append([]protocol.StreamPos(nil), r.Positions...)
		r.Streams = append([]string(nil), r.Streams...)
		r.withDefaults()
		o.Recovery = &r
	}
	return o, nil
}
