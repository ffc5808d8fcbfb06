// Package procstat reads what the bench measures of the server process
// from outside it: resident memory and CPU time from /proc (through
// prometheus/procfs), and Go heap figures from its Prometheus /metrics.
package procstat

import (
	"fmt"

	"github.com/prometheus/procfs"
)

// Sample is one reading of a process.
type Sample struct {
	// RSS is VmRSS in bytes, from /proc/PID/status.
	RSS uint64 `json:"rss_bytes"`
	// CPUSeconds is user + system time so far, from /proc/PID/stat.
	CPUSeconds float64 `json:"cpu_seconds"`
	// Threads is the process's thread count.
	Threads int `json:"threads"`
	// PSS is the proportional set size from /proc/PID/smaps_rollup: RSS
	// with every shared page divided among the processes mapping it, so
	// many processes of one binary sum to what they really hold (0 when
	// the kernel does not say).
	PSS uint64 `json:"pss_bytes,omitempty"`
}

// Read samples process pid.
func Read(pid int) (Sample, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: process %d: %w", pid, err)
	}
	st, err := p.Stat()
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
	}
	status, err := p.NewStatus()
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: /proc/%d/status: %w", pid, err)
	}
	out := Sample{RSS: status.VmRSS, CPUSeconds: st.CPUTime(), Threads: st.NumThreads}
	if r, err := p.ProcSMapsRollup(); err == nil {
		out.PSS = r.Pss
	}
	return out, nil
}
