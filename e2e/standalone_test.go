package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/goim-edge/goim-edge/kitex_gen/push"
	pushsvc "github.com/goim-edge/goim-edge/kitex_gen/push/push"
	"github.com/goim-edge/goim-edge/rpcauth"
)

// e2eRPCSecret is the rpc.secret every process of these tests runs with,
// so every Kitex hop (edge → logic, job → edge, the Push client) carries it.
const e2eRPCSecret = "e2e-rpc-secret-0123456789"

// standaloneAddrs are the listen addresses of one standalone process.
type standaloneAddrs struct {
	tcp, ws, edgeRPC, http, logicRPC, admin string
}

// startStandalone runs `goim-edge standalone` on free loopback ports and
// waits for /readyz.
func startStandalone(t *testing.T, extra ...string) (*proc, standaloneAddrs) {
	t.Helper()
	p, ports := startReady(t, "standalone", 6, func(ports []string) ([]string, []string, string) {
		a := standaloneAddrs{tcp: ports[0], ws: ports[1], edgeRPC: ports[2], http: ports[3], logicRPC: ports[4], admin: ports[5]}
		// The secret comes from the environment, as deployments pass it.
		return []string{"GOIM_RPC_SECRET=" + e2eRPCSecret}, a.args(extra...), "http://" + a.admin + "/readyz"
	})
	return p, standaloneAddrs{tcp: ports[0], ws: ports[1], edgeRPC: ports[2], http: ports[3], logicRPC: ports[4], admin: ports[5]}
}

// args is the command line of a standalone process on a's addresses.
func (a standaloneAddrs) args(extra ...string) []string {
	args := []string{"standalone",
		"-set", "node.id=standalone-e2e",
		"-set", "edge.tcp_addr=" + a.tcp,
		"-set", "edge.ws_addr=" + a.ws,
		"-set", "edge.rpc_addr=" + a.edgeRPC,
		"-set", "logic.http_addr=" + a.http,
		"-set", "logic.rpc_addr=" + a.logicRPC,
		"-set", "logic.admin_addr=" + a.admin,
		"-set", "shutdown.timeout=10s",
	}
	return append(args, extra...)
}

// restartStandalone starts standalone again on the addresses of one that
// has exited, as a restarted server comes back on its configured ports.
func restartStandalone(t *testing.T, a standaloneAddrs, extra ...string) *proc {
	t.Helper()
	p := start(t, "standalone-restarted", []string{"GOIM_RPC_SECRET=" + e2eRPCSecret}, a.args(extra...)...)
	if err := pollHTTP(p, "http://"+a.admin+"/readyz", 30*time.Second); err != nil {
		t.Fatalf("%v; log:\n%s", err, p.log.String())
	}
	return p
}

func TestStandaloneDeviceGetsPushes(t *testing.T) {
	p, a := startStandalone(t)

	alice := dial(t, "alice", a.tcp, 42, "alice-phone", "live://1000")
	bob := dial(t, "bob", a.tcp, 43, "", "live://1000")

	httpPush(t, a.http, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"42"}}, "to-mid")
	alice.expect(1000, "to-mid", 5*time.Second)

	httpPush(t, a.http, "/goim/push/keys", url.Values{"operation": {"1001"}, "keys": {"alice-phone"}}, "to-key")
	alice.expect(1001, "to-key", 5*time.Second)

	httpPush(t, a.http, "/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {"1000"}}, "to-room")
	alice.expect(1002, "to-room", 5*time.Second)
	bob.expect(1002, "to-room", 5*time.Second)

	httpPush(t, a.http, "/goim/push/all", url.Values{"operation": {"1000"}}, "to-all")
	alice.expect(1000, "to-all", 5*time.Second)
	bob.expect(1000, "to-all", 5*time.Second)

	// Internal services push through the Kitex Push service on logic's
	// RPC port with the cluster's secret, as the README shows; without it
	// they are refused.
	anon, err := pushsvc.NewClient("goim.logic", client.WithHostPorts(a.logicRPC), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.PushMids(context.Background(), &push.PushMidsReq{Op: 1001, Mids: []int64{42}, Body: []byte("anonymous")}); !rpcauth.IsRefused(err) {
		t.Fatalf("Kitex PushMids without the secret: %v, want refused", err)
	}
	cli, err := pushsvc.NewClient("goim.logic", append(rpcauth.ClientOptions(e2eRPCSecret),
		client.WithHostPorts(a.logicRPC), client.WithRPCTimeout(5*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cli.PushMids(context.Background(), &push.PushMidsReq{Op: 1001, Mids: []int64{42}, Body: []byte("via-kitex")})
	if err != nil {
		t.Fatalf("Kitex PushMids: %v", err)
	}
	if len(resp.MsgIds) == 0 {
		t.Fatal("Kitex PushMids returned no message ids")
	}
	alice.expect(1001, "via-kitex", 5*time.Second)
	if _, err := cli.PushRoom(context.Background(), &push.PushRoomReq{Op: 0, Type: "live", Room: "1000", Body: []byte("x")}); err == nil {
		t.Fatal("Kitex PushRoom with operation 0 was accepted")
	}

	// Heartbeat: op 3 with the room's online count once the edge has
	// reported it (every renew interval); here just the shape.
	alice.send(2, nil)
	for {
		f := alice.read(5 * time.Second)
		if f.Op == 3 {
			if len(f.Body) != 4 {
				t.Fatalf("heartbeat reply body %d bytes, want 4", len(f.Body))
			}
			break
		}
	}

	// Operational endpoints: /readyz and /metrics on the admin port only;
	// the public HTTP port has /healthz and the demo page.
	for _, tt := range []struct {
		host, path string
		code       int
		want       string
	}{
		{a.http, "/healthz", 200, `"status":"ok"`},
		{a.http, "/", 200, "goim-edge demo"},
		{a.http, "/metrics", 404, ""},
		{a.http, "/readyz", 404, ""},
		{a.admin, "/healthz", 200, `"status":"ok"`},
		{a.admin, "/readyz", 200, `"ready":true`},
		{a.admin, "/metrics", 200, "goim_build_info"},
	} {
		resp, err := http.Get("http://" + tt.host + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(body), tt.want) {
			t.Fatalf("GET %s%s: %d, want %d with %q", tt.host, tt.path, resp.StatusCode, tt.code, tt.want)
		}
	}

	// Graceful shutdown: exit 0, devices disconnected, ports released.
	if err := p.stop(t, syscall.SIGTERM, 15*time.Second); err != nil {
		t.Fatalf("SIGTERM: exit %v; log:\n%s", err, p.log.String())
	}
	if _, err := alice.tryRead(3 * time.Second); err == nil {
		t.Fatal("device still connected after shutdown")
	}
	if !strings.Contains(p.log.String(), "msg=stopped") {
		t.Fatalf("no clean stop in log:\n%s", p.log.String())
	}
}

func TestStandaloneRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unknown flag key", nil, []string{"-set", "edge.tcp_adr=:1"}, `unknown key "edge.tcp_adr"`},
		{"unknown env var", []string{"GOIM_EDGE_TCP_ADR=:1"}, nil, "GOIM_EDGE_TCP_ADR"},
		{"bad duration", nil, []string{"-set", "shutdown.timeout=soon"}, "shutdown.timeout"},
		{"missing file", nil, []string{"-config", "/nonexistent/goim.toml"}, "/nonexistent/goim.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, "standalone", tt.env, append([]string{"standalone"}, tt.args...)...)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Fatal("bad config did not stop the process")
			}
			if p.err == nil || !strings.Contains(p.log.String(), tt.want) {
				t.Fatalf("exit %v, output %q, want it to mention %q", p.err, p.log.String(), tt.want)
			}
		})
	}
}

func TestPortInUseFailsStart(t *testing.T) {
	_, a := startStandalone(t)
	// A second standalone on the same TCP port must fail, not hang.
	p := start(t, "second", nil, "standalone",
		"-set", "edge.tcp_addr="+a.tcp, "-set", "edge.ws_addr="+addr(t), "-set", "edge.rpc_addr="+addr(t),
		"-set", "logic.http_addr="+addr(t), "-set", "logic.rpc_addr="+addr(t))
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("second process did not fail on a taken port")
	}
	if p.err == nil || !strings.Contains(p.log.String(), a.tcp) {
		t.Fatalf("exit %v, log:\n%s", p.err, p.log.String())
	}
}

// TestStandaloneAPIKey: with logic.http.api_key set, pushes need the bearer
// key, health and the client node list do not.
func TestStandaloneAPIKey(t *testing.T) {
	_, a := startStandalone(t, "-set", "logic.http.api_key=e2e-secret")
	post := func(auth string) int {
		req, _ := http.NewRequest("POST", "http://"+a.http+"/goim/push/all?operation=1000", strings.NewReader("x"))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != 401 {
		t.Fatalf("push without key: %d, want 401", code)
	}
	if code := post("Bearer wrong"); code != 401 {
		t.Fatalf("push with wrong key: %d, want 401", code)
	}
	if code := post("Bearer e2e-secret"); code != 200 {
		t.Fatalf("push with key: %d, want 200", code)
	}
	for _, path := range []string{"/healthz", "/goim/nodes/weighted?platform=web"} {
		resp, err := http.Get("http://" + a.http + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s without key: %d", path, resp.StatusCode)
		}
	}
}

// TestStandaloneShutdownDeliversAcceptedPushes: every push the HTTP API
// accepted before SIGTERM reaches the device before its connection closes
// (standalone drains its in-memory queue to the edge first).
func TestStandaloneShutdownDeliversAcceptedPushes(t *testing.T) {
	p, a := startStandalone(t)
	dev := dial(t, "device", a.tcp, 9, "", "")
	const n = 200
	for i := 0; i < n; i++ {
		httpPush(t, a.http, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"9"}}, "m"+strconv.Itoa(i))
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	got := 0
	for {
		f, err := dev.tryRead(10 * time.Second)
		if err != nil {
			break
		}
		if f.Op == 1000 {
			got++
		}
	}
	if err := p.wait(t, 15*time.Second); err != nil {
		t.Fatalf("exit %v", err)
	}
	if got != n {
		t.Fatalf("device got %d of %d accepted pushes before the shutdown closed it", got, n)
	}
}
