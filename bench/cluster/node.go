package cluster

// Node is one process of a cluster, as the state file records it.
type Node struct {
	// Role is "redis", "etcd", "logic", "job" or "edge"; Name is unique
	// in the cluster ("redis", "etcd", "logic", "job-1", "edge-1", …).
	Role string `json:"role"`
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// Ports by name: "client" and "peer" (etcd), "client" (redis),
	// "http", "rpc", "admin" (logic), "admin" (job), "tcp", "ws", "rpc",
	// "admin" (edge).
	Ports map[string]int `json:"ports"`
	// Addrs are what clients use, by the same names: host:port, or a URL
	// for "ws" (ws://…/sub).
	Addrs map[string]string `json:"addrs"`
	// AdminURL is the base URL of a goim-edge node's admin port
	// (/readyz, /metrics); "" for redis and etcd.
	AdminURL string `json:"admin_url,omitempty"`
	// MetricsURL is the process's Prometheus endpoint ("" for redis).
	MetricsURL string `json:"metrics_url,omitempty"`
	// Config is the node's TOML file ("" for redis and etcd).
	Config string `json:"config,omitempty"`
	// Log is the file holding the process's stdout and stderr.
	Log string `json:"log"`
	// Exe, StartTime (clock ticks after boot, /proc/PID/stat) and Args
	// identify the process, so a reused pid is never taken for it.
	Exe       string   `json:"exe"`
	StartTime uint64   `json:"start_time"`
	Args      []string `json:"args"`
}
