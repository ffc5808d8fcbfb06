package client

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	kclient "github.com/cloudwego/kitex/client"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeclient "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	"github.com/goim-edge/goim-edge/rpcauth"
)

// rpcSecret is the rpc.secret the test servers run with.
const rpcSecret = "client-test-rpc-secret-0123456789"

// standalone is one `goim-edge standalone` process on loopback ports.
type standalone struct {
	srv                                     *testenv.Server
	tcp, ws, edgeRPC, http, logicRPC, admin string
}

// testEnv is the test's environment without GOIM_ variables, plus env.
func testEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOIM_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// startStandalone runs the binary as standalone on free loopback ports
// (retrying on new ports should it lose a port race); Kill and Start
// restart it on the same ports.
func startStandalone(t *testing.T, extra ...string) *standalone {
	t.Helper()
	var last error
	for try := 0; try < 3; try++ {
		p := make([]string, 6)
		for i := range p {
			p[i] = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		}
		s := &standalone{tcp: p[0], ws: p[1], edgeRPC: p[2], http: p[3], logicRPC: p[4], admin: p[5]}
		args := []string{"standalone",
			"-set", "node.id=client-test",
			"-set", "edge.tcp_addr=" + s.tcp,
			"-set", "edge.ws_addr=" + s.ws,
			"-set", "edge.rpc_addr=" + s.edgeRPC,
			"-set", "logic.http_addr=" + s.http,
			"-set", "logic.rpc_addr=" + s.logicRPC,
			"-set", "logic.admin_addr=" + s.admin,
			"-set", "shutdown.timeout=5s",
		}
		srv, err := testenv.Program(t, testenv.ProgramSpec{
			Name: "standalone", Bin: serverBin(t), Args: append(args, extra...),
			Env:      testEnv("GOIM_RPC_SECRET=" + rpcSecret),
			ReadyURL: "http://" + s.admin + "/readyz",
		})
		if err == nil {
			s.srv = srv
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("---- standalone log ----\n%s", srv.Log())
				}
			})
			return s
		}
		last = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("start standalone: %v", last)
	return nil
}

// restart kills the server and starts it again on the same ports.
func (s *standalone) restart(t *testing.T) {
	t.Helper()
	s.srv.Kill()
	if err := s.srv.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

func (s *standalone) wsURL() string { return "ws://" + s.ws + "/sub" }

// httpPush posts to goim's HTTP push API and fails unless it succeeded.
func httpPush(t *testing.T, httpAddr, route string, q url.Values, body string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
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

// pushRoomBatch pushes msgs to room through the edge's RPC in one call,
// so they leave the edge as one batch.
func pushRoomBatch(t *testing.T, edgeRPC, room string, op int32, bodies ...string) {
	t.Helper()
	cli, err := edgeclient.NewClient("goim.edge", append(rpcauth.ClientOptions(rpcSecret),
		kclient.WithHostPorts(edgeRPC), kclient.WithRPCTimeout(5*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	req := &edge.PushRoomReq{Room: room}
	for _, b := range bodies {
		req.Msgs = append(req.Msgs, &edge.RoomMsg{Op: op, Body: []byte(b)})
	}
	if _, err := cli.PushRoom(context.Background(), req); err != nil {
		t.Fatalf("edge PushRoom: %v", err)
	}
}

// inbox collects what a client's callbacks receive.
type inbox struct {
	mu     sync.Mutex
	msgs   []Message
	events []Event
	cond   chan struct{} // closed and replaced on every arrival
}

func newInbox() *inbox { return &inbox{cond: make(chan struct{})} }

func (b *inbox) onMessage(m Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	close(b.cond)
	b.cond = make(chan struct{})
	b.mu.Unlock()
}

func (b *inbox) onState(e Event) {
	b.mu.Lock()
	b.events = append(b.events, e)
	close(b.cond)
	b.cond = make(chan struct{})
	b.mu.Unlock()
}

// waitFor waits until ok holds for the inbox, or fails after d.
func (b *inbox) waitFor(t *testing.T, d time.Duration, what string, ok func(msgs []Message, events []Event) bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		b.mu.Lock()
		done := ok(b.msgs, b.events)
		cond := b.cond
		b.mu.Unlock()
		if done {
			return
		}
		select {
		case <-cond:
		case <-deadline:
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Fatalf("no %s within %v; messages %v; events %v", what, d, b.msgs, b.events)
		}
	}
}

// expect waits for a message with op and body.
func (b *inbox) expect(t *testing.T, op int32, body string) Message {
	t.Helper()
	var got Message
	b.waitFor(t, 10*time.Second, fmt.Sprintf("op %d %q", op, body), func(msgs []Message, _ []Event) bool {
		for _, m := range msgs {
			if m.Op == op && string(m.Body) == body {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// waitConnected waits for the n-th Connected event.
func (b *inbox) waitConnected(t *testing.T, n int) Event {
	t.Helper()
	var got Event
	b.waitFor(t, 30*time.Second, fmt.Sprintf("connected event #%d", n), func(_ []Message, events []Event) bool {
		k := 0
		for _, e := range events {
			if e.State == Connected {
				k++
				if k == n {
					got = e
					return true
				}
			}
		}
		return false
	})
	return got
}

// closeClient closes c and checks that no goroutine of the client is
// left.
func closeClient(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	checkNoGoroutines(t)
}

// clientFrames name the functions only the client's goroutines run.
var clientFrames = []string{"client.(*Client)", "client.(*session)", "client.(*tcpConn)", "client.(*wsConn)", "client.Dial", "client.fetchNodes"}

// checkNoGoroutines polls until no goroutine runs client code (the leak
// check: goleak is not a dependency of the module; this looks at the same
// stacks).
func checkNoGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			for _, f := range clientFrames {
				if strings.Contains(g, "goim-edge/client."+strings.TrimPrefix(f, "client.")) {
					leaked = append(leaked, g)
					break
				}
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d client goroutines left after Close:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countingDialer dials TCP and records the time of every dial.
type countingDialer struct {
	mu    sync.Mutex
	times []time.Time
}

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.times = append(d.times, time.Now())
	d.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *countingDialer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.times)
}
