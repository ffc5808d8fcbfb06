package chaos

import (
	"fmt"
	"strings"
	"time"
)

// Settings are the cluster knobs the suite sets; everything else stays at
// goim-edge's defaults. All process configuration is written by roleConfig
// below, the one place to adapt when a setting is added or renamed.
type Settings struct {
	// LeaseTTL is registry.etcd.lease_ttl for every node.
	LeaseTTL time.Duration
	// DrainDelay is shutdown.drain_delay on the edges: how long a
	// draining edge keeps serving before it closes connections (the
	// shipped deploy/config/edge.toml uses 5s).
	DrainDelay time.Duration
	// CloseRate is shutdown.close_rate on the edges: devices closed per
	// second while draining, so a drain takes a few seconds.
	CloseRate int
	// ShutdownTimeout is shutdown.timeout for every node.
	ShutdownTimeout time.Duration
	// Stream is the Redis Streams key the queue uses.
	Stream string
}

// rpcSecret is the cluster's rpc.secret: every Kitex port requires it.
const rpcSecret = "chaos-suite-rpc-secret-0123456789"

// ExtraEnv is added to every goim-edge process's environment, after the
// suite's own variables: the place for cluster-wide secrets such as an RPC
// secret (GOIM_RPC_SECRET) once the binary requires one.
var ExtraEnv []string

// ports of one node, by name ("http", "rpc", "admin", "tcp", "ws").
type ports map[string]string

// roleConfig is the TOML file for one node. role is logic, job or edge.
func roleConfig(role, id string, p ports, redisAddr, etcdAddr string, s Settings) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
[log]
level = "info"

[node]
id = %q
env = "chaos"
region = "local"
advertise_host = "127.0.0.1"

[rpc]
secret = %q

[shutdown]
timeout = %q
`, id, rpcSecret, s.ShutdownTimeout.String())
	if role == "edge" {
		fmt.Fprintf(&b, "drain_delay = %q\nclose_rate = %d\n", s.DrainDelay.String(), s.CloseRate)
	}
	fmt.Fprintf(&b, `
[registry]
kind = "etcd"

[registry.etcd]
endpoints = [%q]
lease_ttl = %q
`, etcdAddr, s.LeaseTTL.String())
	switch role {
	case "logic":
		fmt.Fprintf(&b, `
[logic]
http_addr = %q
rpc_addr = %q
admin_addr = %q
demo_page = false

[store]
kind = "redis"

[store.redis]
addr = %q

[queue]
kind = "redis"

[queue.redis]
addr = %q
stream = %q
`, p["http"], p["rpc"], p["admin"], redisAddr, redisAddr, s.Stream)
	case "job":
		fmt.Fprintf(&b, `
[job]
admin_addr = %q

[queue]
kind = "redis"

[queue.redis]
addr = %q
stream = %q
consumer = %q
`, p["admin"], redisAddr, s.Stream, id)
	case "edge":
		fmt.Fprintf(&b, `
[edge]
tcp_addr = %q
ws_addr = %q
rpc_addr = %q
admin_addr = %q
`, p["tcp"], p["ws"], p["rpc"], p["admin"])
	}
	return b.String()
}

// readyURL is where a node says it serves.
func readyURL(_ string, p ports) string {
	return "http://" + p["admin"] + "/readyz"
}

// portNames are the ports each role listens on.
var portNames = map[string][]string{
	"logic": {"http", "rpc", "admin"},
	"job":   {"admin"},
	"edge":  {"tcp", "ws", "rpc", "admin"},
}
