package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// proc is a Node this process started and may wait for.
type proc struct {
	*Node
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd was waited for
	err    error         // cmd.Wait's result, valid after exited
}

// startProc runs bin args as node n, output to n.Log, in dir. Without
// detach the process gets SIGKILL when this process dies (strictly: when
// the thread that started it exits, which Go does not do to an unlocked
// thread); with it, it runs in its own session and outlives it. Either way its RLIMIT_NOFILE
// soft limit is raised to the hard one.
func startProc(n *Node, dir, bin string, args []string, detach bool) (*proc, error) {
	logf, err := os.OpenFile(n.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cluster: %s log: %w", n.Name, err)
	}
	defer logf.Close() // the child holds its own copy
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = childEnv()
	if detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// Its own process group, so a Ctrl-C meant for the caller reaches
		// it only through Close, in order.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cluster: start %s (%s): %w", n.Name, bin, err)
	}
	p := &proc{Node: n, cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	n.PID = cmd.Process.Pid
	n.Args = append([]string{bin}, args...)
	if err := raiseNofile(n.PID); err != nil {
		p.stop(time.Second)
		return nil, fmt.Errorf("cluster: %s: %w", n.Name, err)
	}
	if exe, start, err := identify(n.PID); err == nil {
		n.Exe, n.StartTime = exe, start
	}
	return p, nil
}

// childEnv is this process's environment without GOIM_ variables, which
// goim-edge would read as configuration.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOIM_") {
			out = append(out, kv)
		}
	}
	return out
}

// raiseNofile sets pid's RLIMIT_NOFILE soft limit to its hard limit
// (Go raises its own at start but restores the original for children).
func raiseNofile(pid int) error {
	var lim unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &lim); err != nil {
		return fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur == lim.Max {
		return nil
	}
	lim.Cur = lim.Max
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		return fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", lim.Max, err)
	}
	return nil
}

// identify is pid's executable and start time.
func identify(pid int) (exe string, start uint64, err error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return "", 0, err
	}
	if exe, err = p.Executable(); err != nil {
		return "", 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return "", 0, err
	}
	return exe, st.Starttime, nil
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILL; it returns once
// the process was reaped.
func (p *proc) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return fmt.Errorf("cluster: %s (pid %d) ignored SIGTERM for %v and was killed", p.Name, p.PID, grace)
}

// exitError describes an exited process, with the end of its log.
func (p *proc) exitError() error {
	return fmt.Errorf("cluster: %s exited while starting (%v); %s:\n%s", p.Name, p.err, p.Log, logTail(p.Log, 3000))
}

// logTail is the end of a log file, for error messages.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// waitFor polls ok every 100 ms until it succeeds, p exits, ctx ends or
// the deadline passes.
func (p *proc) waitFor(ctx context.Context, what string, ok func(context.Context) error) error {
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = ok(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.exited:
			return p.exitError()
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("cluster: %s: %s not ready in time (last: %v); log %s:\n%s", p.Name, what, last, p.Log, logTail(p.Log, 2000))
			}
			return fmt.Errorf("cluster: %s: waiting for %s: %w", p.Name, what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// logPath is dir/logs/name.log.
func logPath(dir, name string) string { return filepath.Join(dir, "logs", name+".log") }
