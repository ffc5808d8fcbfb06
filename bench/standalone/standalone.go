// Package standalone starts a fresh goim-edge server (`goim-edge
// standalone`) on free loopback ports for the bench's standard set and
// integration tests, and stops exactly that process afterwards.
package standalone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/goim-edge/goim-edge/bench/procstat"
)

// Server is a running standalone goim-edge.
type Server struct {
	// TCP, HTTP and RPC are host:port; WS is the ws:// URL of /sub.
	TCP, WS, HTTP, RPC string
	// MetricsURL serves the process's Prometheus metrics ("" if none was
	// found).
	MetricsURL string
	PID        int
	// LogPath is the server's combined stdout and stderr.
	LogPath string

	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	err    error
}

// ports the standalone server listens on, each set with -set.
var portKeys = []string{
	"edge.tcp_addr", "edge.ws_addr", "edge.rpc_addr", "edge.admin_addr",
	"logic.http_addr", "logic.rpc_addr", "logic.admin_addr", "job.admin_addr",
}

// Start runs bin standalone on free 127.0.0.1 ports, logging to a file in
// logDir, and returns once its device, HTTP and RPC ports accept
// connections. extra are more -set key=value overrides.
func Start(ctx context.Context, bin, logDir string, extra ...string) (*Server, error) {
	return StartConfig(ctx, bin, logDir, "", extra...)
}

// StartConfig is Start with a TOML config file (-config; "" none) for
// settings -set cannot express, such as tables of [[logic.history.rooms]].
// The ports and extra -set overrides apply on top of it.
func StartConfig(ctx context.Context, bin, logDir, config string, extra ...string) (*Server, error) {
	ports, err := freePorts(len(portKeys))
	if err != nil {
		return nil, err
	}
	addr := map[string]string{}
	args := []string{"standalone", "-log-level", "warn"}
	if config != "" {
		args = append(args, "-config", config)
	}
	for i, k := range portKeys {
		addr[k] = fmt.Sprintf("127.0.0.1:%d", ports[i])
		args = append(args, "-set", k+"="+addr[k])
	}
	for _, e := range extra {
		args = append(args, "-set", e)
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("standalone: %w", err)
	}
	logf, err := os.CreateTemp(logDir, "goim-edge-*.log")
	if err != nil {
		return nil, fmt.Errorf("standalone: log file: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// No GOIM_ variables from the caller's environment: the server would
	// read them as configuration and the run would not be the standard one.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOIM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("standalone: start %s: %w", bin, err)
	}
	s := &Server{
		TCP: addr["edge.tcp_addr"], WS: "ws://" + addr["edge.ws_addr"] + "/sub",
		HTTP: addr["logic.http_addr"], RPC: addr["logic.rpc_addr"],
		PID: cmd.Process.Pid, LogPath: logf.Name(), cmd: cmd, log: logf, exited: make(chan struct{}),
	}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, []string{s.TCP, addr["edge.ws_addr"], s.HTTP, s.RPC}, 30*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	// Standalone serves /metrics on its one admin port, logic.admin_addr.
	s.MetricsURL = findMetrics(ctx, "http://"+addr["logic.admin_addr"]+"/metrics", "http://"+addr["edge.admin_addr"]+"/metrics",
		"http://"+s.HTTP+"/metrics", "http://"+addr["job.admin_addr"]+"/metrics")
	return s, nil
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("standalone: free port: %w", err)
		}
		lns = append(lns, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func (s *Server) waitReady(ctx context.Context, addrs []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.exited:
				return fmt.Errorf("standalone: server exited before listening on %s: %v\n%s", a, s.err, s.logTail())
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("standalone: %s not accepting after %v\n%s", a, timeout, s.logTail())
			}
		}
	}
	return nil
}

// findMetrics returns the first URL that serves Go heap metrics.
func findMetrics(ctx context.Context, urls ...string) string {
	for _, u := range urls {
		if m, err := procstat.Scrape(ctx, u); err == nil {
			if _, ok := m[procstat.HeapInuse]; ok {
				return u
			}
		}
	}
	return ""
}

// logTail is the end of the server's log, for error messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// Stop sends SIGTERM, waits up to 20 s for a graceful exit, then kills.
func (s *Server) Stop() error {
	defer s.log.Close()
	select {
	case <-s.exited:
		return s.exitErr()
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.exitErr()
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("standalone: server %d ignored SIGTERM for 20 s and was killed", s.PID)
	}
}

// Alive reports whether the process is still running.
func (s *Server) Alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

func (s *Server) exitErr() error {
	var ee *exec.ExitError
	if errors.As(s.err, &ee) && ee.ExitCode() == 0 {
		return nil
	}
	if s.err != nil {
		return fmt.Errorf("standalone: server exited: %w", s.err)
	}
	return nil
}

// Describe names the binary for reports.
func (s *Server) Describe() string {
	return fmt.Sprintf("%s standalone (pid %d)", filepath.Base(s.cmd.Path), s.PID)
}
