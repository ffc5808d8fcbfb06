package procstat

import (
	"fmt"

	"github.com/prometheus/procfs"

	"github.com/goim-edge/goim-edge/bench/report"
)

// Machine reads the machine's memory (/proc/meminfo) and its TCP sockets
// (/proc/net/sockstat): what a large run spends outside every process,
// the kernel's socket structures chief among it.
func Machine() (report.MachineMemory, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return report.MachineMemory{}, fmt.Errorf("procstat: /proc: %w", err)
	}
	mi, err := fs.Meminfo()
	if err != nil {
		return report.MachineMemory{}, fmt.Errorf("procstat: /proc/meminfo: %w", err)
	}
	m := report.MachineMemory{Total: deref(mi.MemTotalBytes), Available: deref(mi.MemAvailableBytes), Slab: deref(mi.SlabBytes)}
	if ss, err := fs.NetSockstat(); err == nil {
		for _, p := range ss.Protocols {
			if p.Protocol == "TCP" {
				m.TCPSockets = int64(p.InUse)
			}
		}
	}
	return m, nil
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}
