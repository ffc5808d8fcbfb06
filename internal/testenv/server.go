// Package testenv starts the real servers that integration tests talk to
// (redis-server, etcd) on free loopback ports with temporary data dirs.
// A server that cannot start fails the test with a message that says why;
// nothing is skipped.
package testenv

import (
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/lookbin"
)

// Server is one external server process owned by a test.
type Server struct {
	Name string
	// Addr is host:port of the client endpoint.
	Addr string
	// Dir is the temporary data dir; it survives Stop/Start for restart tests.
	Dir string

	args  func() []string
	bin   string
	env   []string // nil: the test's environment
	ready func(addr string) error

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	log    *Output
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func lookBinary(tb testing.TB, names ...string) string {
	tb.Helper()
	p, err := lookbin.Find(names...)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return p
}

// Start (re)starts the process and waits until it answers.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("testenv: %s already running", s.Name)
	}
	s.log = &Output{}
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Dir = s.Dir
	cmd.Env = s.env
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Wait copies the server's output until every holder of its pipes
	// closes them; a child the server forked (redis-server's background
	// save) outlives a SIGKILL of the server and would hold Wait, and a
	// test's cleanup, forever.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testenv: start %s: %w", s.Name, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	var werr error
	go func(done chan struct{}) { werr = cmd.Wait(); close(done) }(s.exited)
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := s.ready(s.Addr)
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			s.cmd = nil
			return fmt.Errorf("testenv: %s exited during start (%v): %s", s.Name, werr, s.log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			s.cmd = nil
			return fmt.Errorf("testenv: %s not ready at %s after 20s: %v; log: %s", s.Name, s.Addr, err, s.log.String())
		}
	}
}

// Stop ends the process with SIGTERM (or SIGKILL with kill=true) and waits.
func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Stop terminates the server gracefully; Start brings it back on the same
// port and data dir.
func (s *Server) Stop() { s.stop(syscall.SIGTERM) }

// Kill terminates the server with SIGKILL.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

// Signal sends sig to the running process (SIGSTOP and SIGCONT for fault
// tests); it is a no-op when the process is not running.
func (s *Server) Signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	return s.cmd.Process.Signal(sig)
}

// Running reports whether the process was started and has not exited.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Log returns what the server printed so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

func (s *Server) startOrFail(tb testing.TB) *Server {
	tb.Helper()
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Kill)
	return s
}

func dial(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, 500*time.Millisecond)
}
