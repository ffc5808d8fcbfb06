package edge

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
	"github.com/goim-edge/goim-edge/rpcauth"
)

// Config is one edge node's listeners, timing and limits. Zero fields are
// not filled in by New; start from DefaultConfig.
type Config struct {
	// Node is this edge's id in routes and in the registry (default: hostname).
	Node string `toml:"node"`
	// TCPAddr is goim's raw TCP port (3101).
	TCPAddr string `toml:"tcp_addr"`
	// WSAddr is goim's WebSocket port (3102); WSPath the upgrade path.
	WSAddr string `toml:"ws_addr"`
	WSPath string `toml:"ws_path"`
	// WSSAddr serves the same WebSocket endpoint over TLS (goim's wss
	// port is 3103); empty leaves it off. netpoll has no TLS, so this
	// port runs on Go's standard network stack (a goroutine and TLS state
	// per connection), and TLS is often better ended at a load balancer.
	WSSAddr string `toml:"wss_addr"`
	// TLSCertFile and TLSKeyFile are the PEM certificate chain and key
	// for WSSAddr; a changed pair on disk is picked up without a restart.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// RPCAddr is the Kitex Edge service job calls (3109).
	RPCAddr string `toml:"rpc_addr"`
	// RPCAuth guards the Edge service: the secret every call must carry
	// and the payload limit (package rpcauth). The process fills it from
	// [rpc]; the zero value checks no secret and limits payloads to
	// rpcauth.DefaultMaxPayloadBytes. Where RPCAddr binds without a
	// secret is the caller's choice (rpcauth.ListenAddr).
	RPCAuth rpcauth.Config `toml:"-"`

	// MaxConnections caps open device connections (TCP and WebSocket
	// together, authenticated or not); more are refused at once: a TCP
	// connection is closed before auth, a WebSocket upgrade answered 503.
	// 0 means no cap. The default, 100,000, is about 0.5 GiB of edge
	// memory for idle devices (see docs/configuration.md) and well inside
	// what one process can hold open; raise it with the file limit.
	MaxConnections int `toml:"max_connections"`
	// MaxConnsPerIP caps open connections from one client IP, so one
	// host cannot take the edge's whole connection budget (0: no cap).
	// Carrier NAT puts many devices behind one address, hence the high
	// default (1,000).
	MaxConnsPerIP int `toml:"max_conns_per_ip"`
	// ConnLimitExempt lists networks (CIDR) the per-IP cap does not
	// apply to. The default exempts loopback: a TLS terminator or proxy
	// on the same host makes every device come from 127.0.0.1, and the
	// benchmarks open many devices from 127.0.0.x. Add a load balancer's
	// range here when it does not keep client addresses.
	ConnLimitExempt []string `toml:"conn_limit_exempt"`
	// AcceptRate bounds new device connections per second, edge-wide
	// (0: no limit), with AcceptBurst connections taken at once; more are
	// refused like connections over MaxConnections. It keeps a reconnect
	// storm from turning into a storm of auth calls on logic; goim
	// clients back off and retry.
	AcceptRate  float64 `toml:"accept_rate"`
	AcceptBurst int     `toml:"accept_burst"`

	// UpstreamRate and UpstreamBurst are each connection's token bucket
	// for frames that make the edge or logic work on its behalf: upstream
	// messages (ops 4, 18–21, ≥ 1000), room changes (12, 22, 24) and
	// sub/unsub (14, 16). Heartbeats (op 2) draw nothing unless they
	// come less than a second apart (no client does). A frame over
	// the rate is dropped without a reply and counted
	// (goim_edge_upstream_refused_total); a connection with more than
	// UpstreamMaxRefused dropped frames within 10 s is closed (reason
	// "rate_limited"). UpstreamRate 0 turns the bucket off.
	UpstreamRate       float64 `toml:"upstream_rate"`
	UpstreamBurst      int     `toml:"upstream_burst"`
	UpstreamMaxRefused int     `toml:"upstream_max_refused"`
	// UpstreamParallel bounds upstream messages being forwarded to logic
	// (Receive calls) at once, edge-wide. A device whose message waits
	// for a slot is not served meanwhile (its later frames wait behind
	// it); one that waits longer than logic_timeout has that message
	// dropped and counted (goim_edge_logic_errors_total{method="receive"}).
	UpstreamParallel int `toml:"upstream_parallel"`
	// MaxInputBuffer bounds one connection's received but unprocessed
	// bytes (the bytes the edge holds while the device's earlier frames
	// are still being handled); past it the connection is closed (reason
	// "input_overflow"). netpoll cannot stop reading a socket, so this is
	// what bounds the edge's memory under an upstream flood; see tcp.go.
	MaxInputBuffer int `toml:"max_input_buffer"`

	// HandshakeTimeout is how long a new connection has to authenticate.
	HandshakeTimeout time.Duration `toml:"handshake_timeout"`
	// ReadTimeout bounds how long the rest of a started TCP frame may take,
	// so a half-sent frame cannot pin a goroutine.
	ReadTimeout time.Duration `toml:"read_timeout"`
	// WriteTimeout bounds one write to a device; a device that stops
	// reading is closed after it instead of stalling others.
	WriteTimeout time.Duration `toml:"write_timeout"`
	// Heartbeat × HeartbeatMax is the idle deadline used when logic's
	// Connect does not return one (goim: 4 min × 2).
	Heartbeat    time.Duration `toml:"heartbeat"`
	HeartbeatMax int           `toml:"heartbeat_max"`
	// TCPKeepalive is the kernel keepalive interval on TCP connections; it
	// finds dead peers, the heartbeat deadline finds silent ones.
	TCPKeepalive time.Duration `toml:"tcp_keepalive"`
	// TimerTick is the resolution of the heartbeat/handshake deadline wheel.
	TimerTick time.Duration `toml:"timer_tick"`

	// Buckets shards connections and rooms so that connects, disconnects
	// and room fan-out do not contend on one lock.
	Buckets int `toml:"buckets"`
	// RoomBatchWindow is how long a busy room coalesces pushes into one
	// OpRaw batch; a quiet room flushes at once.
	RoomBatchWindow time.Duration `toml:"room_batch_window"`
	// RoomBatchBytes flushes a batch early once it holds this many bytes.
	RoomBatchBytes int `toml:"room_batch_bytes"`
	// MaxRooms is how many rooms one connection may be in at once.
	MaxRooms int `toml:"max_rooms"`
	// SendQueue is how many pushes may wait for one connection; more are
	// dropped and counted (goim_edge_drops_total).
	SendQueue int `toml:"send_queue"`
	// DisconnectSlow closes a connection whose send queue overflowed.
	DisconnectSlow bool `toml:"disconnect_slow"`
	// ResumeBuffer is how many live pushes a connection holds while its
	// recovery (op 26) reads history; one more closes it
	// (resume_overflow) and the device resumes again (docs/recovery.md).
	ResumeBuffer int `toml:"resume_buffer"`

	// WSPingInterval is how often the shared ticker pings WebSocket
	// clients (0 disables); WSReadBuffer/WSWriteBuffer size the hertz
	// transport's buffers (write buffers are pooled, idle connections
	// hold none; the netpoll transport takes buffers per frame).
	WSPingInterval time.Duration `toml:"ws_ping_interval"`
	WSReadBuffer   int           `toml:"ws_read_buffer"`
	WSWriteBuffer  int           `toml:"ws_write_buffer"`
	// WSTransport picks what serves WSAddr: "netpoll" (the default:
	// upgrade and frames on netpoll's event loop, as TCP frames are, no
	// goroutine or buffer held by an idle connection) or "hertz" (Hertz
	// and hertz-contrib/websocket, a reader goroutine per connection).
	// See docs/websocket.md. WSSAddr always runs on hertz: netpoll has
	// no TLS.
	WSTransport string `toml:"ws_transport"`
	// WSCompression accepts permessage-deflate when a client offers it
	// (no context takeover either way, so a connection keeps no
	// compression window); server messages of at least
	// WSCompressMin are then compressed.
	WSCompression bool `toml:"ws_compression"`
	WSCompressMin int  `toml:"ws_compression_min_bytes"`

	// RenewOnlineInterval is how often room counts are reported to logic
	// (and cluster-wide counts fetched for heartbeat replies).
	RenewOnlineInterval time.Duration `toml:"renew_online_interval"`
	// RouteRenewInterval is the least time between two route renewals
	// (logic Heartbeat) of one connection; it must stay well inside
	// logic's route TTL.
	RouteRenewInterval time.Duration `toml:"route_renew_interval"`
	// LogicTimeout bounds every call to logic.
	LogicTimeout time.Duration `toml:"logic_timeout"`

	// DedupWindow is how long the edge remembers the message ids of the
	// pushes it delivered, to drop job's retries and the queue's
	// redeliveries (at least once) instead of showing devices a push
	// twice. It must cover the longest redelivery horizon: queue
	// claim_min_idle + claim_interval, job's retries and edge_grace.
	// 0 turns the filter off.
	DedupWindow time.Duration `toml:"dedup_window"`
	// DedupMaxIDs bounds the ids remembered per window (8 bytes and map
	// overhead each, twice: current and previous window); past it the
	// window shrinks (goim_edge_dedup_early_rotations_total).
	DedupMaxIDs int `toml:"dedup_max_ids"`
	// EpochInterval is how often the edge asks logic for the route
	// store's epoch (0: only the epoch in Connect, Heartbeat and
	// RenewOnline answers counts). A new epoch means the store lost its
	// data, and the edge re-registers every route it holds.
	EpochInterval time.Duration `toml:"epoch_interval"`
	// RestoreRate bounds that re-registration in routes per second, and
	// RestoreBatch is how many routes one Restore call carries: with many
	// edges restoring at once the store sees edges × RestoreRate writes
	// per second.
	RestoreRate  int `toml:"restore_rate"`
	RestoreBatch int `toml:"restore_batch"`
}

// DefaultConfig returns goim's ports and timings.
func DefaultConfig() Config {
	node, err := os.Hostname()
	if err != nil || node == "" {
		node = "edge"
	}
	return Config{
		Node:                node,
		TCPAddr:             ":3101",
		WSAddr:              ":3102",
		WSPath:              "/sub",
		RPCAddr:             ":3109",
		MaxConnections:      100000,
		MaxConnsPerIP:       1000,
		ConnLimitExempt:     []string{"127.0.0.0/8", "::1/128"},
		AcceptRate:          10000,
		AcceptBurst:         20000,
		UpstreamRate:        20,
		UpstreamBurst:       50,
		UpstreamMaxRefused:  50,
		UpstreamParallel:    128,
		MaxInputBuffer:      64 << 10,
		HandshakeTimeout:    5 * time.Second,
		ReadTimeout:         10 * time.Second,
		WriteTimeout:        5 * time.Second,
		Heartbeat:           4 * time.Minute,
		HeartbeatMax:        2,
		TCPKeepalive:        5 * time.Minute,
		TimerTick:           time.Second,
		Buckets:             32,
		RoomBatchWindow:     20 * time.Millisecond,
		RoomBatchBytes:      32 << 10,
		MaxRooms:            16,
		SendQueue:           64,
		ResumeBuffer:        256,
		DisconnectSlow:      false,
		WSPingInterval:      time.Minute,
		WSReadBuffer:        128,
		WSWriteBuffer:       4096,
		WSTransport:         WSTransportNetpoll,
		WSCompressMin:       256,
		RenewOnlineInterval: 10 * time.Second,
		RouteRenewInterval:  10 * time.Minute,
		LogicTimeout:        3 * time.Second,
		DedupWindow:         2 * time.Minute,
		DedupMaxIDs:         1 << 20,
		EpochInterval:       2 * time.Second,
		RestoreRate:         10000,
		RestoreBatch:        500,
	}
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %v must be positive", name, d))
		}
	}
	if c.Node == "" {
		errs = append(errs, errors.New("node must be set"))
	}
	if c.WSSAddr != "" && (c.TLSCertFile == "" || c.TLSKeyFile == "") {
		errs = append(errs, fmt.Errorf("wss_addr %q needs tls_cert_file and tls_key_file", c.WSSAddr))
	}
	if c.TCPAddr == "" && c.WSAddr == "" && c.WSSAddr == "" {
		errs = append(errs, errors.New("tcp_addr or ws_addr must be set"))
	}
	if (c.WSAddr != "" || c.WSSAddr != "") && (c.WSPath == "" || c.WSPath[0] != '/') {
		errs = append(errs, fmt.Errorf("ws_path %q must start with /", c.WSPath))
	}
	pos("handshake_timeout", c.HandshakeTimeout)
	pos("read_timeout", c.ReadTimeout)
	pos("write_timeout", c.WriteTimeout)
	pos("heartbeat", c.Heartbeat)
	pos("timer_tick", c.TimerTick)
	pos("renew_online_interval", c.RenewOnlineInterval)
	pos("route_renew_interval", c.RouteRenewInterval)
	pos("logic_timeout", c.LogicTimeout)
	if c.RoomBatchWindow < 0 || c.RoomBatchWindow > time.Second {
		errs = append(errs, fmt.Errorf("room_batch_window %v must be within [0, 1s]", c.RoomBatchWindow))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("max_connections %d must not be negative (0: no cap)", c.MaxConnections))
	}
	if c.MaxConnsPerIP < 0 {
		errs = append(errs, fmt.Errorf("max_conns_per_ip %d must not be negative (0: no cap)", c.MaxConnsPerIP))
	}
	for _, p := range c.ConnLimitExempt {
		if _, err := netip.ParsePrefix(p); err != nil {
			errs = append(errs, fmt.Errorf("conn_limit_exempt %q: want a CIDR such as 127.0.0.0/8: %w", p, err))
		}
	}
	if c.AcceptRate < 0 {
		errs = append(errs, fmt.Errorf("accept_rate %v must not be negative (0: no limit)", c.AcceptRate))
	}
	if c.AcceptRate > 0 && c.AcceptBurst <= 0 {
		errs = append(errs, fmt.Errorf("accept_burst %d must be positive when accept_rate is set", c.AcceptBurst))
	}
	if c.UpstreamRate < 0 {
		errs = append(errs, fmt.Errorf("upstream_rate %v must not be negative (0: no limit)", c.UpstreamRate))
	}
	if c.UpstreamRate > 0 && (c.UpstreamBurst <= 0 || c.UpstreamMaxRefused <= 0) {
		errs = append(errs, fmt.Errorf("upstream_burst %d and upstream_max_refused %d must be positive when upstream_rate is set", c.UpstreamBurst, c.UpstreamMaxRefused))
	}
	if c.UpstreamParallel <= 0 {
		errs = append(errs, fmt.Errorf("upstream_parallel %d must be positive", c.UpstreamParallel))
	}
	if c.MaxInputBuffer < 2*protocol.MaxPackSize {
		errs = append(errs, fmt.Errorf("max_input_buffer %d must be at least %d (two frames)", c.MaxInputBuffer, 2*protocol.MaxPackSize))
	}
	if c.HeartbeatMax <= 0 {
		errs = append(errs, fmt.Errorf("heartbeat_max %d must be positive", c.HeartbeatMax))
	}
	if c.Buckets <= 0 {
		errs = append(errs, fmt.Errorf("buckets %d must be positive", c.Buckets))
	}
	if c.RoomBatchBytes <= 0 {
		errs = append(errs, fmt.Errorf("room_batch_bytes %d must be positive", c.RoomBatchBytes))
	}
	if c.MaxRooms <= 0 {
		errs = append(errs, fmt.Errorf("max_rooms %d must be positive", c.MaxRooms))
	}
	if c.ResumeBuffer <= 0 {
		errs = append(errs, fmt.Errorf("resume_buffer %d must be positive", c.ResumeBuffer))
	}
	if c.SendQueue <= 0 {
		errs = append(errs, fmt.Errorf("send_queue %d must be positive", c.SendQueue))
	}
	if c.EpochInterval < 0 {
		errs = append(errs, fmt.Errorf("epoch_interval %v must not be negative (0: no polling)", c.EpochInterval))
	}
	if c.RestoreRate <= 0 {
		errs = append(errs, fmt.Errorf("restore_rate %d must be positive", c.RestoreRate))
	}
	if c.RestoreBatch <= 0 || c.RestoreBatch > maxRestoreBatch {
		errs = append(errs, fmt.Errorf("restore_batch %d must be within [1, %d]", c.RestoreBatch, maxRestoreBatch))
	}
	if c.WSPingInterval < 0 {
		errs = append(errs, fmt.Errorf("ws_ping_interval %v must not be negative", c.WSPingInterval))
	}
	if c.WSReadBuffer < 128 {
		errs = append(errs, fmt.Errorf("ws_read_buffer %d must be at least 128 (a control frame)", c.WSReadBuffer))
	}
	if c.WSWriteBuffer < 256 {
		errs = append(errs, fmt.Errorf("ws_write_buffer %d must be at least 256", c.WSWriteBuffer))
	}
	if c.WSTransport != WSTransportHertz && c.WSTransport != WSTransportNetpoll {
		errs = append(errs, fmt.Errorf("ws_transport %q must be %q or %q", c.WSTransport, WSTransportHertz, WSTransportNetpoll))
	}
	if c.WSCompressMin < 0 {
		errs = append(errs, fmt.Errorf("ws_compression_min_bytes %d must not be negative", c.WSCompressMin))
	}
	errs = append(errs, c.dedupErrors()...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("edge: config: %w", err)
	}
	return nil
}

// The values of Config.WSTransport.
const (
	// WSTransportHertz serves WebSocket with Hertz and
	// hertz-contrib/websocket: a reader goroutine per connection.
	WSTransportHertz = "hertz"
	// WSTransportNetpoll reads WebSocket frames from netpoll's event
	// loop: no goroutine per idle connection.
	WSTransportNetpoll = "netpoll"
)

// maxRestoreBatch is the most routes logic takes in one Restore call
// (logic.MaxRestoreRoutes).
const maxRestoreBatch = 10000

// idleDeadline is the heartbeat deadline used when logic gives none.
func (c Config) idleDeadline() time.Duration {
	return c.Heartbeat * time.Duration(c.HeartbeatMax)
}
