package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/goim-edge/goim-edge/app/obs"
	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/internal/testenv"
	edgeapi "github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgesvc "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	"github.com/goim-edge/goim-edge/registry"
)

// opsWait bounds polls for a state the background checks reach within a
// few intervals; generous for a loaded machine.
const opsWait = 20 * time.Second

// getURL returns the status and body of GET url.
func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReadyz polls url until it answers code, and returns the body.
func waitReadyz(t *testing.T, url string, code int) obs.ReadyReport {
	t.Helper()
	deadline := time.Now().Add(opsWait)
	for {
		got, body := getURL(t, url)
		if got == code {
			var rep obs.ReadyReport
			if err := json.Unmarshal([]byte(body), &rep); err != nil {
				t.Fatalf("%s: body %q: %v", url, body, err)
			}
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %s, want %d within %v", url, got, body, code, opsWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// drainOverRPC calls Edge.Drain on addr as a caller on the network would.
func drainOverRPC(t *testing.T, addr string) {
	t.Helper()
	cli, err := edgesvc.NewClient(registry.ServiceEdge, client.WithHostPorts(addr), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Drain(context.Background(), &edgeapi.DrainReq{}); err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

// TestEdgeDrainFailsReadyz is issue 11's drained edge that kept answering
// 200 {"ready":true}: after Edge.Drain over RPC, /readyz answers 503
// naming the edge, while /healthz stays 200 (the process is alive; do not
// restart it).
func TestEdgeDrainFailsReadyz(t *testing.T) {
	c := testConfig()
	c.Registry.Static.Logic = []string{freeAddr(t)}
	c.Edge.TCPAddr, c.Edge.WSAddr, c.Edge.RPCAddr, c.Edge.AdminAddr = freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	n, err := startWithin(t, func() (node, error) { return startEdgeRole(context.Background(), c, discardLog()) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)
	readyz := "http://" + c.Edge.AdminAddr + obs.PathReadyz
	if rep := waitReadyz(t, readyz, 200); !rep.Ready {
		t.Fatalf("ready edge: %+v", rep)
	}
	drainOverRPC(t, c.Edge.RPCAddr)
	rep := waitReadyz(t, readyz, 503)
	if rep.Ready || !slices.Equal(rep.Failing, []string{"edge"}) {
		t.Fatalf("drained edge: %+v, want failing [edge]", rep)
	}
	if code, _ := getURL(t, "http://"+c.Edge.AdminAddr+obs.PathHealthz); code != 200 {
		t.Fatalf("drained edge healthz %d, want 200", code)
	}
}

// TestStandaloneOpsOnAdminPort: standalone's one admin port
// (logic.admin_addr) serves /readyz and /metrics; the public HTTP API port
// serves /healthz only; a Drain of the standalone's edge fails /readyz.
func TestStandaloneOpsOnAdminPort(t *testing.T) {
	c := testConfig()
	c.Edge.TCPAddr, c.Edge.WSAddr, c.Edge.RPCAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	c.Logic.HTTPAddr, c.Logic.RPCAddr, c.Logic.AdminAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	n, err := startWithin(t, func() (node, error) { return startStandalone(context.Background(), c, discardLog()) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)
	admin, public := "http://"+c.Logic.AdminAddr, "http://"+c.Logic.HTTPAddr
	waitReadyz(t, admin+obs.PathReadyz, 200)
	tests := []struct {
		url      string
		code     int
		contains string
	}{
		{admin + obs.PathMetrics, 200, "goim_"},
		{admin + obs.PathHealthz, 200, `"status":"ok"`},
		{public + obs.PathHealthz, 200, `"status":"ok"`},
		{public + obs.PathReadyz, 404, ""},
		{public + obs.PathMetrics, 404, ""},
	}
	for _, tt := range tests {
		code, body := getURL(t, tt.url)
		if code != tt.code || !strings.Contains(body, tt.contains) {
			t.Errorf("GET %s: %d, want %d with %q", tt.url, code, tt.code, tt.contains)
		}
	}
	drainOverRPC(t, c.Edge.RPCAddr)
	if rep := waitReadyz(t, admin+obs.PathReadyz, 503); !slices.Equal(rep.Failing, []string{"edge"}) {
		t.Fatalf("drained standalone: %+v, want failing [edge]", rep)
	}
}

// TestLogicReadyzFromCachedStoreCheck: logic's /readyz is on its admin
// port; a Redis outage makes it 503 naming "store" without the error
// text (which goes to the log), and it recovers with Redis.
func TestLogicReadyzFromCachedStoreCheck(t *testing.T) {
	redis := testenv.Redis(t)
	c := testConfig()
	c.Store.Kind, c.Store.Redis.Addr = "redis", redis.Addr
	c.Queue.Kind, c.Queue.Redis.Addr = "redis", redis.Addr
	c.Logic.HTTPAddr, c.Logic.RPCAddr, c.Logic.AdminAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	var logBuf testenv.Output
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	n, err := startWithin(t, func() (node, error) { return startLogicRole(context.Background(), c, log) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)
	readyz := "http://" + c.Logic.AdminAddr + obs.PathReadyz
	waitReadyz(t, readyz, 200)
	if code, _ := getURL(t, "http://"+c.Logic.HTTPAddr+obs.PathReadyz); code != 404 {
		t.Fatalf("the public API port answers /readyz: %d", code)
	}
	if code, _ := getURL(t, "http://"+c.Logic.HTTPAddr+obs.PathMetrics); code != 404 {
		t.Fatalf("the public API port answers /metrics: %d", code)
	}

	redis.Stop()
	rep := waitReadyz(t, readyz, 503)
	if !slices.Equal(rep.Failing, []string{"store"}) {
		t.Fatalf("redis down: %+v, want failing [store]", rep)
	}
	_, body := getURL(t, readyz)
	for _, leak := range []string{redis.Addr, "refused", "dial", "EOF"} {
		if strings.Contains(body, leak) {
			t.Fatalf("readyz body leaks %q: %s", leak, body)
		}
	}
	if !strings.Contains(logBuf.String(), "readiness check failing") {
		t.Fatalf("the failing check is not in the log:\n%s", logBuf.String())
	}
	if err := redis.Start(); err != nil {
		t.Fatal(err)
	}
	waitReadyz(t, readyz, 200)
}

// TestAdminExposureLogged: a loopback admin port is logged as such; any
// other address is logged as exposed, with its key.
func TestAdminExposureLogged(t *testing.T) {
	tests := []struct {
		addr, want string
	}{
		{"127.0.0.1:0", "admin port on loopback only"},
		{":0", "admin port is exposed beyond loopback"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		a, err := bindAdmin("logic", tt.addr, obs.NewHealth(), slog.New(slog.NewTextHandler(&buf, nil)))
		if err != nil {
			t.Fatal(err)
		}
		_ = a.shutdown(context.Background())
		if !strings.Contains(buf.String(), tt.want) {
			t.Errorf("%s: log %q lacks %q", tt.addr, buf.String(), tt.want)
		}
		if tt.addr == ":0" && !strings.Contains(buf.String(), "logic.admin_addr") {
			t.Errorf("%s: the warning does not name the key: %q", tt.addr, buf.String())
		}
	}
}

// TestPlaceholderSecretFailsStart: `config check` and the start of every
// role that reads the key refuse api_key "change-me" with the message
// saying what to do; the process exits 1 before binding anything.
func TestPlaceholderSecretFailsStart(t *testing.T) {
	const want = `logic.http.api_key is the placeholder "change-me": set a real secret (e.g. openssl rand -hex 32)`
	file := filepath.Join(t.TempDir(), "logic.toml")
	if err := os.WriteFile(file, []byte("[logic.http]\napi_key = \"change-me\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, nil, "config", "check", file); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("config check: %v, want %q", err, want)
	}
	redis := testenv.Redis(t)
	for _, role := range []string{config.RoleStandalone, config.RoleLogic} {
		t.Run(role, func(t *testing.T) {
			args := []string{role, "-config", file, "-set", "node.id=placeholder"}
			for _, k := range []string{"edge.tcp_addr", "edge.ws_addr", "edge.rpc_addr", "logic.http_addr", "logic.rpc_addr", "logic.admin_addr"} {
				args = append(args, "-set", k+"="+freeAddr(t))
			}
			if role == config.RoleLogic {
				args = append(args, "-set", "store.kind=redis", "-set", "store.redis.addr="+redis.Addr,
					"-set", "queue.kind=redis", "-set", "queue.redis.addr="+redis.Addr)
			}
			var stdout, stderr bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- Main(args, &stdout, &stderr) }()
			select {
			case code := <-done:
				if code != 1 || !strings.Contains(stderr.String(), want) {
					t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 with %q", code, stderr.String(), want)
				}
			case <-time.After(startTimeout):
				t.Fatalf("%s with a placeholder api_key did not exit within %v", role, startTimeout)
			}
		})
	}
}
