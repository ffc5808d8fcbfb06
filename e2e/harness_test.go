// Package e2e starts the real goim-edge binary (built once in TestMain) as
// separate processes, with real redis-server and etcd for cluster tests,
// and talks to it the way devices and app backends do: goim frames over
// TCP, the HTTP push API, the demo page in headless Chromium.
package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/protocol"
)

// bin is the goim-edge binary built for this test run.
var bin string

func TestMain(m *testing.M) {
	testenv.MainWithBinary(m, "goim-e2e-", &bin)
}

// proc is one goim-edge process owned by a test.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *testenv.Output
	done chan struct{}
	err  error
}

// start runs the binary with args; env adds GOIM_* variables. The process
// is killed at cleanup, and its log printed if the test failed.
func start(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: &testenv.Output{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", name, p.log.String())
		}
	})
	return p
}

// cleanEnv is the test's environment without GOIM_ variables, which the
// binary would refuse or apply.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOIM_") {
			out = append(out, kv)
		}
	}
	return out
}

func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// stop sends sig and waits up to d for the exit; it returns the exit error.
func (p *proc) stop(t *testing.T, sig os.Signal, d time.Duration) error {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	return p.wait(t, d)
}

// wait waits up to d for the process to exit and returns the exit error.
func (p *proc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		t.Fatalf("%s did not exit within %v; log:\n%s", p.name, d, p.log.String())
		return nil
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// errExited says the process ended while we waited for it.
var errExited = errors.New("exited")

// pollHTTP polls url until it answers 200; it fails early if the
// process exits (wrapping errExited).
func pollHTTP(p *proc, rawURL string, d time.Duration) error {
	c := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s %w before %s was ready (%v)", p.name, errExited, rawURL, p.err)
		}
		resp, err := c.Get(rawURL)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: %s not ready after %v (last: %s)", p.name, rawURL, d, last)
}

// startReady starts a process on n fresh free ports and waits until
// launch's readiness URL answers 200. A free port was only free a moment
// ago: when the process loses the race for one ("address already in
// use"), it is started again on new ports, up to three times.
func startReady(t *testing.T, name string, n int, launch func(ports []string) (env, args []string, readyURL string)) (*proc, []string) {
	t.Helper()
	for try := 1; ; try++ {
		ports := make([]string, n)
		for i := range ports {
			ports[i] = addr(t)
		}
		env, args, ready := launch(ports)
		p := start(t, name, env, args...)
		err := pollHTTP(p, ready, 30*time.Second)
		if err == nil {
			return p, ports
		}
		if try < 3 && errors.Is(err, errExited) && strings.Contains(p.log.String(), "address already in use") {
			t.Logf("%s lost a port race, retrying on new ports", name)
			continue
		}
		t.Fatalf("%v; log:\n%s", err, p.log.String())
	}
}

// addr is a free loopback address.
func addr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
}

// httpPush posts body to goim's HTTP push API and fails unless it answers
// exactly goim's 23-byte success envelope.
func httpPush(t *testing.T, httpAddr, route string, q url.Values, body string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post("http://"+httpAddr+route+"?"+q.Encode(), "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("push %s: %v", route, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(got) != `{"code":0,"message":""}` {
		t.Fatalf("push %s?%s: %d %s", route, q.Encode(), resp.StatusCode, got)
	}
}

// device is a goim TCP client.
type device struct {
	t    *testing.T
	name string
	conn net.Conn
	buf  []byte
	seq  int32
}

// dial connects to an edge's TCP port and authenticates with goim's JSON
// token, failing unless the edge answers op 8.
func dial(t *testing.T, name, tcpAddr string, mid int64, key, room string) *device {
	t.Helper()
	var conn net.Conn
	var err error
	for i := 0; i < 50; i++ {
		if conn, err = net.DialTimeout("tcp", tcpAddr, time.Second); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, tcpAddr, err)
	}
	t.Cleanup(func() { conn.Close() })
	d := &device{t: t, name: name, conn: conn}
	token := fmt.Sprintf(`{"mid":%d,"key":%q,"room_id":%q,"platform":"test","accepts":[1000,1001,1002]}`, mid, key, room)
	d.send(protocol.OpAuth, []byte(token))
	f := d.read(5 * time.Second)
	if f.Op != protocol.OpAuthReply {
		t.Fatalf("%s: auth answered op %d, want %d", name, f.Op, protocol.OpAuthReply)
	}
	return d
}

func (d *device) send(op int32, body []byte) {
	d.t.Helper()
	d.seq++
	frame := protocol.AppendFrame(nil, 1, op, d.seq, body)
	if _, err := d.conn.Write(frame); err != nil {
		d.t.Fatalf("%s: write: %v", d.name, err)
	}
}

func (d *device) read(timeout time.Duration) protocol.Frame {
	d.t.Helper()
	f, err := d.tryRead(timeout)
	if err != nil {
		d.t.Fatalf("%s: read: %v", d.name, err)
	}
	return f
}

func (d *device) tryRead(timeout time.Duration) (protocol.Frame, error) {
	_ = d.conn.SetReadDeadline(time.Now().Add(timeout))
	f, buf, err := protocol.ReadFrame(d.conn, d.buf, 1<<20)
	d.buf = buf
	if err != nil {
		return protocol.Frame{}, err
	}
	f.Body = append([]byte(nil), f.Body...)
	return f, nil
}

// expect reads frames until one with op and body arrives, skipping
// heartbeat replies; it fails after timeout.
func (d *device) expect(op int32, body string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			d.t.Fatalf("%s: no op %d %q within %v", d.name, op, body, timeout)
		}
		f, err := d.tryRead(left)
		if err != nil {
			d.t.Fatalf("%s: waiting for op %d %q: %v", d.name, op, body, err)
		}
		if f.Op == op && string(f.Body) == body {
			return
		}
	}
}
