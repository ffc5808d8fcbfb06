package report

import (
	"fmt"
	"sort"
)

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
	// Machine is the machine's memory, when the reader added it.
	Machine *MachineMemory `json:"machine,omitempty"`
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
	// PSS is the proportional set size: shared pages (the binary's text,
	// mapped by every edge) divided among the processes sharing them, so
	// processes' PSS add up to the memory they hold (0 unknown).
	PSS uint64 `json:"pss_bytes,omitempty"`
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

// Cost is what the server side spent over one measured phase of a run
// (connect and settle, a connect storm, pushes and their drain): each
// role's memory at the end and CPU over the phase, and the backends'.
type Cost struct {
	// Phase names what was measured; Seconds is its wall time.
	Phase   string  `json:"phase"`
	Seconds float64 `json:"seconds"`
	// Devices connected and messages delivered during the phase, the
	// denominators of the per-device and per-message figures.
	Devices   int   `json:"devices"`
	Delivered int64 `json:"delivered"`
	// Roles in a fixed order: edge, logic, job, then the backends' own
	// processes (redis, etcd).
	Roles []RoleCost `json:"roles"`
	// Processes is every process, after the phase, with its CPU over it.
	Processes []ProcessCost `json:"processes"`
	Redis     *RedisCost    `json:"redis,omitempty"`
	Etcd      *EtcdSample   `json:"etcd,omitempty"`
	// Machine is the machine's memory after the phase and Kernel the
	// growth of its slab (socket structures, mostly) over the phase.
	Machine    *MachineMemory `json:"machine,omitempty"`
	SlabGrowth int64          `json:"slab_growth,omitempty"`
	// Notes say what the figures cannot show (a process that restarted
	// mid-phase, a backend that could not be read).
	Notes []string `json:"notes,omitempty"`
}

// RoleCost is one role's processes taken together.
type RoleCost struct {
	Role      string `json:"role"`
	Processes int    `json:"processes"`
	// RSS is the role's total resident memory after the phase, RSSGrowth
	// its change over the phase (negative when memory was returned).
	RSS       uint64 `json:"rss_bytes"`
	RSSGrowth int64  `json:"rss_growth_bytes"`
	// PSS is the role's total proportional set size after the phase (0
	// when any of its processes' is unknown).
	PSS uint64 `json:"pss_bytes,omitempty"`
	// HeapInuse is the Go heap in use after the phase, summed (0 for
	// non-Go roles).
	HeapInuse  uint64  `json:"heap_inuse_bytes,omitempty"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// ProcessCost is one process after the phase.
type ProcessCost struct {
	ProcessSample
	// CPUInPhase is the CPU it used over the phase.
	CPUInPhase float64 `json:"cpu_in_phase"`
}

// RedisCost is Redis over the phase: memory after and its growth, and the
// commands it ran.
type RedisCost struct {
	UsedMemory       uint64 `json:"used_memory"`
	UsedMemoryGrowth int64  `json:"used_memory_growth"`
	Commands         uint64 `json:"commands"`
	Keys             uint64 `json:"keys"`
}

// roleOrder is the order roles are listed in; unknown roles follow.
var roleOrder = []string{"edge", "logic", "job", "redis", "etcd", "kafka"}

// NewCost is the difference between two samples of the same deployment
// taken wall apart. Processes are matched by role, name and PID: one that
// is only in after (restarted) counts its whole CPU and memory, and is
// noted.
func NewCost(phase string, before, after Sample, wall float64, devices int, delivered int64) *Cost {
	c := &Cost{Phase: phase, Seconds: wall, Devices: devices, Delivered: delivered}
	type id struct {
		role, name string
		pid        int
	}
	prev := map[id]ProcessSample{}
	for _, p := range before.Processes {
		prev[id{p.Role, p.Name, p.PID}] = p
	}
	roles := map[string]*RoleCost{}
	pssKnown := map[string]bool{}
	for _, p := range after.Processes {
		b, ok := prev[id{p.Role, p.Name, p.PID}]
		if !ok {
			c.Notes = append(c.Notes, fmt.Sprintf("%s %s (pid %d) was not running when the phase began: its whole CPU and memory are counted.", p.Role, p.Name, p.PID))
		}
		cpu := p.CPUSeconds - b.CPUSeconds
		c.Processes = append(c.Processes, ProcessCost{ProcessSample: p, CPUInPhase: cpu})
		r := roles[p.Role]
		if r == nil {
			r = &RoleCost{Role: p.Role}
			roles[p.Role] = r
			pssKnown[p.Role] = true
		}
		pssKnown[p.Role] = pssKnown[p.Role] && p.PSS > 0
		r.PSS += p.PSS
		r.Processes++
		r.RSS += p.RSS
		r.RSSGrowth += int64(p.RSS) - int64(b.RSS)
		r.HeapInuse += p.HeapInuse
		r.CPUSeconds += cpu
	}
	for name, known := range pssKnown {
		if !known {
			roles[name].PSS = 0
		}
	}
	for _, name := range roleOrder {
		if r := roles[name]; r != nil {
			c.Roles = append(c.Roles, *r)
			delete(roles, name)
		}
	}
	rest := make([]string, 0, len(roles))
	for name := range roles {
		rest = append(rest, name)
	}
	sort.Strings(rest)
	for _, name := range rest {
		c.Roles = append(c.Roles, *roles[name])
	}
	if a := after.Redis; a != nil {
		rc := &RedisCost{UsedMemory: a.UsedMemory, Keys: a.Keys}
		if b := before.Redis; b != nil {
			rc.UsedMemoryGrowth = int64(a.UsedMemory) - int64(b.UsedMemory)
			if a.Commands >= b.Commands {
				rc.Commands = a.Commands - b.Commands
			}
		}
		c.Redis = rc
	}
	if a := after.Etcd; a != nil {
		e := *a
		c.Etcd = &e
	}
	if a := after.Machine; a != nil {
		m := *a
		c.Machine = &m
		if b := before.Machine; b != nil {
			c.SlabGrowth = int64(a.Slab) - int64(b.Slab)
		}
	}
	return c
}

// Role is the named role's figures (nil when the deployment has none).
func (c *Cost) Role(name string) *RoleCost {
	for i := range c.Roles {
		if c.Roles[i].Role == name {
			return &c.Roles[i]
		}
	}
	return nil
}

// ServerRSS is the resident memory of the whole server side after the
// phase: every role including the backends' processes.
func (c *Cost) ServerRSS() uint64 {
	var n uint64
	for _, r := range c.Roles {
		n += r.RSS
	}
	return n
}

// ServerMemory is the memory the whole server side holds after the phase:
// the sum of PSS when every role's is known (shared pages counted once),
// else of RSS; pss says which.
func (c *Cost) ServerMemory() (bytes uint64, pss bool) {
	for _, r := range c.Roles {
		if r.PSS == 0 {
			return c.ServerRSS(), false
		}
		bytes += r.PSS
	}
	return bytes, len(c.Roles) > 0
}

// MachineMemory is the whole machine's memory at one moment: what a large
// run costs outside every process (the kernel's socket structures) and how
// close it is to running out. The load generator shares the machine, so
// these figures include it.
type MachineMemory struct {
	Total     uint64 `json:"total"`
	Available uint64 `json:"available"`
	// Slab is kernel slab memory: sockets, files, epoll items.
	Slab       uint64 `json:"slab"`
	TCPSockets int64  `json:"tcp_sockets"`
}
