package cluster

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// Alive reports whether n's process still runs and is still n's: not a
// zombie, same executable and start time as recorded, and a command line
// naming the same program (redis-server rewrites the rest of its own).
func Alive(n *Node) bool {
	if n.PID <= 0 {
		return false
	}
	p, err := procfs.NewProc(n.PID)
	if err != nil {
		return false
	}
	st, err := p.Stat()
	if err != nil || st.State == "Z" || st.State == "X" {
		return false
	}
	if n.StartTime != 0 && st.Starttime != n.StartTime {
		return false
	}
	if n.Exe != "" {
		if exe, err := p.Executable(); err != nil || exe != n.Exe {
			return false
		}
	}
	if len(n.Args) > 0 {
		cl, err := p.CmdLine()
		if err != nil || len(cl) == 0 {
			return false
		}
		first := strings.Fields(cl[0])
		if len(first) == 0 || filepath.Base(first[0]) != filepath.Base(n.Args[0]) {
			return false
		}
	}
	return true
}

// StopState stops the processes recorded in s, edges first, then jobs,
// logic, etcd and redis: SIGTERM, then SIGKILL after grace. A process
// that no longer runs, or whose pid now belongs to another process, is
// skipped. report, if not nil, hears about each process signalled.
func StopState(s *State, grace time.Duration, report func(n *Node, killed bool)) {
	for _, group := range stopOrder(s.Nodes) {
		done := make(chan struct{}, len(group))
		for _, n := range group {
			go func() {
				defer func() { done <- struct{}{} }()
				if !Alive(n) {
					return
				}
				killed := stopPID(n, grace)
				if report != nil {
					report(n, killed)
				}
			}()
		}
		for range group {
			<-done
		}
	}
}

// stopPID stops a process this one did not start and cannot wait for;
// it reports whether SIGKILL was needed.
func stopPID(n *Node, grace time.Duration) bool {
	_ = syscall.Kill(n.PID, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !Alive(n) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	if Alive(n) {
		_ = syscall.Kill(n.PID, syscall.SIGKILL)
		for i := 0; i < 100 && Alive(n); i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return true
}

// stopOrder groups nodes by role in the order they stop: edges (devices
// reconnect elsewhere), jobs, logic, etcd, redis; nodes within a group
// stop together.
func stopOrder(nodes []*Node) [][]*Node {
	var out [][]*Node
	for _, role := range []string{roleEdge, roleJob, roleLogic, roleEtcd, roleRedis} {
		var g []*Node
		for _, n := range nodes {
			if n.Role == role {
				g = append(g, n)
			}
		}
		if len(g) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// describe is "name (pid N)".
func describe(n *Node) string { return fmt.Sprintf("%s (pid %d)", n.Name, n.PID) }
