package report

// Sample is one reading of a whole deployment's server side: every
// process by role, and the backends they share. A cluster run takes one
// before and one after the phase it measures; Cost is the difference.
type Sample struct {
	Processes []ProcessSample `json:"processes"`
	// Redis is nil when the deployment has no Redis (Kafka queue with the
	// memory store, or standalone).
	Redis *RedisSample `json:"redis,omitempty"`
	// Etcd is nil when the deployment has no etcd.
	Etcd *EtcdSample `json:"etcd,omitempty"`
}

// ProcessSample is one server process at one moment.
type ProcessSample struct {
	// Role is "edge", "logic", "job", "redis", "etcd" or "kafka".
	Role string `json:"role"`
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// RSS is VmRSS in bytes; CPUSeconds user + system time so far.
	RSS        uint64  `json:"rss_bytes"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// HeapInuse is go_memstats_heap_inuse_bytes from the process's
	// /metrics (Go roles only; HeapKnown false when not read).
	HeapInuse uint64 `json:"heap_inuse_bytes,omitempty"`
	HeapKnown bool   `json:"heap_known,omitempty"`
}

// RedisSample is Redis's own account (INFO memory, INFO stats, DBSIZE),
// summed over the masters of a cluster.
type RedisSample struct {
	UsedMemory    uint64 `json:"used_memory"`
	UsedMemoryRSS uint64 `json:"used_memory_rss"`
	// Commands is total_commands_processed.
	Commands uint64 `json:"commands"`
	Keys     uint64 `json:"keys"`
}

// EtcdSample is etcd's own account: its database file (Maintenance
// Status) and the watchers its members serve (etcd_debugging_mvcc_watcher_total).
type EtcdSample struct {
	DBSize      int64 `json:"db_size"`
	DBSizeInUse int64 `json:"db_size_in_use"`
	Watchers    int64 `json:"watchers"`
	Keys        int64 `json:"keys"`
}
