// Package config is goim-edge's configuration: one TOML file shared by every
// role (each role reads the sections it needs), environment overrides
// (GOIM_<SECTION>_<KEY>), and -set flags. Unknown keys are errors that name
// the key. Durations are strings such as "5s" or "4m".
package config

import (
	"os"
	"time"

	"github.com/goim-edge/goim-edge/control/job"
	"github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/httpapi"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/edge"
	"github.com/goim-edge/goim-edge/registry/etcdreg"
	"github.com/goim-edge/goim-edge/rpcauth"
	"github.com/goim-edge/goim-edge/tracing"
)

// Config is the whole file. Every role reads [log], [node], [shutdown],
// [registry], [rpc] and [runtime]; edge reads [edge]; logic reads [logic],
// [auth], [store] and [queue]; job reads [job] and [queue]; standalone
// reads them all.
type Config struct {
	Log      LogConfig      `toml:"log"`
	Node     NodeConfig     `toml:"node"`
	Shutdown ShutdownConfig `toml:"shutdown"`
	Registry RegistryConfig `toml:"registry"`
	RPC      rpcauth.Config `toml:"rpc"`
	Edge     EdgeConfig     `toml:"edge"`
	Logic    LogicConfig    `toml:"logic"`
	Job      JobConfig      `toml:"job"`
	Auth     auth.Config    `toml:"auth"`
	Store    StoreConfig    `toml:"store"`
	Queue    queue.Config   `toml:"queue"`
	Runtime  RuntimeConfig  `toml:"runtime"`
	// Trace turns on OpenTelemetry tracing of pushes (docs/tracing.md).
	Trace tracing.Config `toml:"trace"`
}

// LogConfig sets up log/slog; Kitex's and Hertz's loggers are routed into it.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level"`
	// Format is text or json.
	Format string `toml:"format"`
	// AddSource adds file:line to every record.
	AddSource bool `toml:"add_source"`
}

// NodeConfig identifies this process in the registry.
type NodeConfig struct {
	// ID is the node's unique name (edge node id, registry key); default
	// the host name.
	ID string `toml:"id"`
	// Env, Region and Zone place the node: registry keys are
	// /{env}/{service}/{region}/{id}.
	Env    string `toml:"env"`
	Region string `toml:"region"`
	Zone   string `toml:"zone"`
	// Domain is the public host name web clients dial (nodes/weighted).
	Domain string `toml:"domain"`
	// Weight is the node's share in client node selection.
	Weight int `toml:"weight"`
	// AdvertiseHost is the host other nodes dial to reach this one. Empty:
	// the host of each listen address when it names one, else the first
	// non-loopback IPv4 address of the machine.
	AdvertiseHost string `toml:"advertise_host"`
}

// ShutdownConfig bounds graceful shutdown on SIGTERM/SIGINT.
type ShutdownConfig struct {
	// Timeout is the whole budget: deregister (an edge: mark draining),
	// stop accepting, close connections, finish in-flight pushes. After
	// it the process exits.
	Timeout time.Duration `toml:"timeout"`
	// DrainDelay is how long to keep serving after failing /readyz and
	// deregistering (logic, job) or being marked draining (edge), so load
	// balancers and watchers see the node leave before it stops serving.
	DrainDelay time.Duration `toml:"drain_delay"`
	// CloseRate is how many device connections per second an edge ends
	// when it shuts down, while it still delivers their pushes, so clients
	// reconnect elsewhere in a trickle instead of a storm; 0 ends them
	// all at once. Whatever is still open when the budget nears its end
	// is closed at once. The edge deregisters after the last one.
	CloseRate int `toml:"close_rate"`
}

// RegistryConfig chooses how nodes find each other.
type RegistryConfig struct {
	// Kind is "static" (fixed addresses below; standalone and small
	// installs) or "etcd".
	Kind string `toml:"kind"`
	// Etcd is the etcd registry's connection, lease and TLS settings;
	// the node's env, region and zone come from [node].
	Etcd   etcdreg.Config `toml:"etcd"`
	Static StaticConfig   `toml:"static"`
}

// StaticConfig lists fixed nodes for the static registry.
type StaticConfig struct {
	// Logic is the logic nodes' Kitex RPC addresses, for edges.
	Logic []string `toml:"logic"`
	// Edges are the edge nodes, for job and the nodes API.
	Edges []StaticEdge `toml:"edges"`
}

// StaticEdge is one fixed edge node.
type StaticEdge struct {
	ID     string `toml:"id"`
	RPC    string `toml:"rpc"`
	TCP    string `toml:"tcp"`
	WS     string `toml:"ws"`
	Domain string `toml:"domain"`
	Weight int    `toml:"weight"`
}

// EdgeConfig is the edge role: the edge's own settings (listeners,
// timeouts, batching, limits) flattened into [edge], plus its admin port.
type EdgeConfig struct {
	edge.Config
	// AdminAddr serves /healthz, /readyz and /metrics ("" disables). They
	// need no credential, so the default binds loopback; a non-loopback
	// address is an explicit choice and the log says it is exposed.
	// Standalone serves logic.admin_addr instead.
	AdminAddr string `toml:"admin_addr"`
	// PublicHost is the host name or IP devices use to reach this edge
	// when it differs from the advertised one (node.advertise_host, what
	// job dials): a load balancer, a NAT's public address, a host with a
	// public IP next to a private one. Set, it is published in the
	// registry and /goim/nodes/weighted hands it out instead. Empty: the
	// advertised host (see registry.Instance.Public).
	PublicHost string `toml:"public_host"`
	// PublicTCPPort, PublicWSPort and PublicWSSPort are the ports devices
	// dial for each transport when a load balancer or NAT maps them
	// elsewhere (0: the listen port). PublicWSSPort also publishes WSS
	// for an edge without wss_addr whose TLS ends at a load balancer.
	PublicTCPPort int `toml:"public_tcp_port"`
	PublicWSPort  int `toml:"public_ws_port"`
	PublicWSSPort int `toml:"public_wss_port"`
}

// LogicConfig is the logic role: logic's own settings (heartbeat, TTLs,
// receive hook, [logic.nodes] for /goim/nodes/weighted) flattened into
// [logic], the HTTP API's in [logic.http], and where it listens.
type LogicConfig struct {
	logic.Config
	// HTTP is the push API's api_key (its limits are logic's, above).
	HTTP LogicHTTPConfig `toml:"http"`
	// HTTPAddr is goim's HTTP push API, the demo page and /healthz;
	// /readyz and /metrics are on AdminAddr only.
	HTTPAddr string `toml:"http_addr"`
	// AdminAddr serves /healthz, /readyz and /metrics ("" disables), loopback
	// by default like edge.admin_addr and job.admin_addr. Standalone serves
	// its one admin port here.
	AdminAddr string `toml:"admin_addr"`
	// OpenAPI serves the push API without api_key on a non-loopback
	// address. Off: with no api_key the HTTP server binds 127.0.0.1.
	OpenAPI bool `toml:"open_api"`
	// RPCAddr serves the Kitex Logic (for edges) and Push services.
	RPCAddr string `toml:"rpc_addr"`
	// DemoPage serves the WebSocket demo client at "/".
	DemoPage bool `toml:"demo_page"`
	// DemoWSURL tells the demo page where devices connect; empty: the
	// standalone edge's port, else the first node of /goim/nodes/weighted.
	DemoWSURL string `toml:"demo_ws_url"`
}

// LogicHTTPConfig is [logic.http]: the HTTP API's settings, plus the old
// name of logic.max_body_bytes.
type LogicHTTPConfig struct {
	httpapi.Config
	// MaxBodyBytes is the old name of logic.max_body_bytes, from when the
	// limit applied to the HTTP API only; it now covers the Kitex Push
	// service too. Still honoured: a non-zero value sets
	// logic.max_body_bytes (Load refuses the two set to different values).
	// 0, the default, leaves it to logic.max_body_bytes.
	MaxBodyBytes int `toml:"max_body_bytes"`
}

// JobConfig is the job role: job's fan-out settings plus its admin port.
type JobConfig struct {
	job.Config
	// RoomBatchWindow is the old name of job.room_coalesce_window (the
	// edge's room_batch_window is another thing): a non-zero value still
	// sets it (Load refuses the two set to different values).
	RoomBatchWindow time.Duration `toml:"room_batch_window"`
	// AdminAddr serves /healthz, /readyz and /metrics ("" disables),
	// loopback by default like edge.admin_addr. Standalone serves
	// logic.admin_addr instead.
	AdminAddr string `toml:"admin_addr"`
}

// StoreConfig chooses where logic keeps routes and online counts.
type StoreConfig struct {
	// Kind is memory (one logic only: standalone) or redis.
	Kind  string            `toml:"kind"`
	Redis redisstore.Config `toml:"redis"`
}

// Default admin addresses: loopback, since /readyz and /metrics take no
// credential (a scrape from another host needs an explicit address).
const (
	DefaultEdgeAdminAddr  = "127.0.0.1:3108"
	DefaultLogicAdminAddr = "127.0.0.1:3118"
	DefaultJobAdminAddr   = "127.0.0.1:3128"
)

// Default is the standalone configuration on goim's default ports.
func Default() *Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "goim-edge"
	}
	return &Config{
		Log:      LogConfig{Level: "info", Format: "text"},
		Node:     NodeConfig{ID: host, Env: "dev", Region: "local", Weight: 10},
		Shutdown: ShutdownConfig{Timeout: 30 * time.Second},
		Registry: RegistryConfig{
			Kind: "static",
			Etcd: etcdDefaults(),
		},
		RPC:  rpcauth.DefaultConfig(),
		Edge: EdgeConfig{Config: edgeDefaults(), AdminAddr: DefaultEdgeAdminAddr},
		Logic: LogicConfig{
			Config: logic.DefaultConfig(), HTTP: LogicHTTPConfig{Config: httpapi.DefaultConfig()},
			HTTPAddr: ":3111", RPCAddr: ":3119", AdminAddr: DefaultLogicAdminAddr, DemoPage: true,
		},
		Job:     JobConfig{Config: job.DefaultConfig(), AdminAddr: DefaultJobAdminAddr},
		Auth:    auth.DefaultConfig(),
		Store:   StoreConfig{Kind: "memory", Redis: redisstore.DefaultConfig()},
		Queue:   queue.DefaultConfig(),
		Runtime: DefaultRuntime(),
		Trace:   tracing.DefaultConfig(),
	}
}

// edgeDefaults are the edge's defaults with the node id left empty: the
// edge then uses [node].id, so one setting names the node everywhere.
func edgeDefaults() edge.Config {
	c := edge.DefaultConfig()
	c.Node = ""
	return c
}

// EdgeNode is the edge's node id: edge.node when set, else node.id.
func (c *Config) EdgeNode() string {
	if c.Edge.Node != "" {
		return c.Edge.Node
	}
	return c.Node.ID
}

// etcdDefaults are etcdreg's defaults without the env, region and zone,
// which come from [node].
func etcdDefaults() etcdreg.Config {
	c := etcdreg.DefaultConfig()
	c.Env, c.Region, c.Zone = "", "", ""
	return c
}
