package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// startTimeout bounds a start that must fail at once; reaching it means the
// start hangs (the bug these tests guard against).
const startTimeout = 20 * time.Second

// rolePort is one listener of a role under test: the config key it comes
// from and how that role's start error names it.
type rolePort struct {
	name    string // as the error names it: "logic: listen rpc"
	set     func(c *config.Config, addr string)
	addr    string
	wantMsg string // substring of the start error; the address is appended
}

// freeAddr is a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startWithin runs start and fails the test if it does not return within
// startTimeout.
func startWithin(t *testing.T, start func() (node, error)) (node, error) {
	t.Helper()
	type result struct {
		n   node
		err error
	}
	ch := make(chan result, 1)
	go func() { n, err := start(); ch <- result{n, err} }()
	select {
	case r := <-ch:
		return r.n, r.err
	case <-time.After(startTimeout):
		t.Fatalf("start did not return within %v", startTimeout)
		return nil, nil
	}
}

// stopNode stops a started role within a few seconds.
func stopNode(t *testing.T, n node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// requireFree fails unless every addr can be bound again (a failed or
// stopped start left nothing listening).
func requireFree(t *testing.T, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("%s still bound: %v", a, err)
			continue
		}
		ln.Close()
	}
}

// testBusyPorts occupies each port of a role in turn and checks that the
// role's start fails promptly with an error naming that port, leaves every
// other port free, and that a start on the same, now free, ports works.
func testBusyPorts(t *testing.T, base func() *config.Config, ports []rolePort, start func(*config.Config) (node, error)) {
	cfg := func() *config.Config {
		c := base()
		for _, p := range ports {
			p.set(c, p.addr)
		}
		return c
	}
	all := make([]string, len(ports))
	for i, p := range ports {
		all[i] = p.addr
	}
	for _, busy := range ports {
		t.Run(busy.name+" busy", func(t *testing.T) {
			hold, err := net.Listen("tcp", busy.addr)
			if err != nil {
				t.Fatal(err)
			}
			n, err := startWithin(t, func() (node, error) { return start(cfg()) })
			hold.Close()
			if err == nil {
				stopNode(t, n)
				t.Fatalf("start succeeded with %s busy", busy.addr)
			}
			want := busy.wantMsg + " " + busy.addr + ": address already in use"
			if busy.wantMsg == "" {
				want = busy.addr
			}
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("error %q, want it to contain %q", err, want)
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				t.Fatalf("error %q does not match syscall.EADDRINUSE", err)
			}
			requireFree(t, all...)
		})
	}
	t.Run("all free", func(t *testing.T) {
		n, err := startWithin(t, func() (node, error) { return start(cfg()) })
		if err != nil {
			t.Fatalf("start on free ports: %v", err)
		}
		for _, a := range all {
			waitServed(t, a)
		}
		stopNode(t, n)
		requireFree(t, all...)
	})
}

// waitServed waits until a server reads from addr: it answers bytes that
// no protocol here accepts (goim frames, Kitex, HTTP) with a reply or a
// close, where a port bound but not served leaves them unread.
func waitServed(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if served(addr) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s is not served", addr)
}

func served(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Write(append(bytes.Repeat([]byte{0xff}, 60), "\r\n\r\n"...)); err != nil {
		return true // reset: someone read and refused it
	}
	var b [1]byte
	_, err = c.Read(b[:])
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func testConfig() *config.Config {
	c := config.Default()
	c.Node.ID = "start-test"
	c.Shutdown.Timeout = 10 * time.Second
	c.Logic.DemoPage = false
	// Admin ports default to fixed loopback ports; tests take free ones.
	c.Edge.AdminAddr, c.Logic.AdminAddr, c.Job.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	return c
}

func setEdgeTCP(c *config.Config, a string)    { c.Edge.TCPAddr = a }
func setEdgeWS(c *config.Config, a string)     { c.Edge.WSAddr = a }
func setEdgeRPC(c *config.Config, a string)    { c.Edge.RPCAddr = a }
func setLogicHTTP(c *config.Config, a string)  { c.Logic.HTTPAddr = a }
func setLogicRPC(c *config.Config, a string)   { c.Logic.RPCAddr = a }
func setLogicAdmin(c *config.Config, a string) { c.Logic.AdminAddr = a }

func logicPorts(t *testing.T) []rolePort {
	return []rolePort{
		{name: "logic http", set: setLogicHTTP, addr: freeAddr(t), wantMsg: "logic: listen http"},
		{name: "logic rpc", set: setLogicRPC, addr: freeAddr(t), wantMsg: "logic: listen rpc"},
		{name: "logic admin", set: setLogicAdmin, addr: freeAddr(t), wantMsg: "logic: listen admin"},
	}
}

// The edge names its own ports ("edge: listen tcp ADDR: …"); only the
// address and the cause are checked.
func edgePorts(t *testing.T) []rolePort {
	return []rolePort{
		{name: "edge tcp", set: setEdgeTCP, addr: freeAddr(t)},
		{name: "edge ws", set: setEdgeWS, addr: freeAddr(t)},
		{name: "edge rpc", set: setEdgeRPC, addr: freeAddr(t)},
	}
}

func TestStandaloneStartWithBusyPort(t *testing.T) {
	ports := append(logicPorts(t), edgePorts(t)...)
	testBusyPorts(t, testConfig, ports, func(c *config.Config) (node, error) {
		return startStandalone(context.Background(), c, discardLog())
	})
}

func TestLogicRoleStartWithBusyPort(t *testing.T) {
	redis := testenv.Redis(t)
	base := func() *config.Config {
		c := testConfig()
		c.Queue.Kind = "redis"
		c.Queue.Redis.Addr = redis.Addr
		return c
	}
	testBusyPorts(t, base, logicPorts(t), func(c *config.Config) (node, error) {
		return startLogicRole(context.Background(), c, discardLog())
	})
}

func TestEdgeRoleStartWithBusyPort(t *testing.T) {
	base := func() *config.Config {
		c := testConfig()
		c.Registry.Static.Logic = []string{freeAddr(t)}
		return c
	}
	ports := append(edgePorts(t), rolePort{
		name: "edge admin", addr: freeAddr(t), wantMsg: "edge: listen admin",
		set: func(c *config.Config, a string) { c.Edge.AdminAddr = a },
	})
	testBusyPorts(t, base, ports, func(c *config.Config) (node, error) {
		return startEdgeRole(context.Background(), c, discardLog())
	})
}

func TestJobRoleStartWithBusyPort(t *testing.T) {
	redis := testenv.Redis(t)
	base := func() *config.Config {
		c := testConfig()
		c.Queue.Kind = "redis"
		c.Queue.Redis.Addr = redis.Addr
		return c
	}
	ports := []rolePort{{
		name: "job admin", addr: freeAddr(t), wantMsg: "job: listen admin",
		set: func(c *config.Config, a string) { c.Job.AdminAddr = a },
	}}
	testBusyPorts(t, base, ports, func(c *config.Config) (node, error) {
		return startJobRole(context.Background(), c, discardLog())
	})
}

// TestStandaloneCommandExitsOnBusyPort is the reported hang: the
// standalone command with logic.rpc_addr taken must exit 1 with the port's
// error logged, instead of waiting forever for an HTTP server that never
// stops.
func TestStandaloneCommandExitsOnBusyPort(t *testing.T) {
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	args := []string{"standalone", "-set", "node.id=busy-port", "-set", "logic.demo_page=false"}
	for _, kv := range []string{"edge.tcp_addr", "edge.ws_addr", "edge.rpc_addr", "logic.http_addr", "logic.admin_addr"} {
		args = append(args, "-set", kv+"=127.0.0.1:0")
	}
	args = append(args, "-set", "logic.rpc_addr="+hold.Addr().String())
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- Main(args, &stdout, &stderr) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(startTimeout):
		t.Fatalf("the command did not exit within %v", startTimeout)
	}
	want := "logic: listen rpc " + hold.Addr().String() + ": address already in use"
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "start failed") || !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr does not report %q:\n%s", want, stderr.String())
	}
}

// TestServedProbe: the probe tells a port bound but not served from one
// a server reads.
func TestServedProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if served(ln.Addr().String()) {
		t.Fatal("a listener nobody accepts on counts as served")
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 1))
			c.Close()
		}
	}()
	if !served(ln.Addr().String()) {
		t.Fatal("a server that reads and closes counts as not served")
	}
}

// TestStandaloneStopRightAfterStart: a stop that follows start at once
// (no wait for the ports to be served) stops every server and frees every
// port, round after round, with no race inside Kitex or Hertz (run with
// -race): start returns only servers that answer.
func TestStandaloneStopRightAfterStart(t *testing.T) {
	for range 3 {
		ports := append(logicPorts(t), edgePorts(t)...)
		c := testConfig()
		all := make([]string, len(ports))
		for i, p := range ports {
			p.set(c, p.addr)
			all[i] = p.addr
		}
		n, err := startWithin(t, func() (node, error) { return startStandalone(context.Background(), c, discardLog()) })
		if err != nil {
			t.Fatal(err)
		}
		stopNode(t, n)
		requireFree(t, all...)
	}
}

// TestStandaloneLateStartFailureUnwinds: a start that fails after logic,
// the edge and its registration are up (here job refuses its config)
// undoes all of it: every port is free again and the error is job's.
func TestStandaloneLateStartFailureUnwinds(t *testing.T) {
	ports := append(logicPorts(t), edgePorts(t)...)
	c := testConfig()
	c.Shutdown.DrainDelay = 0
	c.Job.RPCTimeout = 0 // job.New refuses it, after everything before it started
	all := make([]string, len(ports))
	for i, p := range ports {
		p.set(c, p.addr)
		all[i] = p.addr
	}
	n, err := startWithin(t, func() (node, error) { return startStandalone(context.Background(), c, discardLog()) })
	if err == nil {
		stopNode(t, n)
		t.Fatal("start succeeded with job.rpc_timeout 0")
	}
	if !strings.Contains(err.Error(), "rpc_timeout") {
		t.Fatalf("error %q, want job's rpc_timeout refusal", err)
	}
	requireFree(t, all...)
}
