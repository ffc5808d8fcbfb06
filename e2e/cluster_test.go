package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
)

// cluster is logic, job and two edges as separate processes over a real
// redis-server (store and queue) and etcd (registry), all on free ports.
type cluster struct {
	redis, etcd *testenv.Server
	logic, job  *proc
	edges       [2]*proc
	httpAddr    string
	logicAdmin  string
	jobAdmin    string
	edgeTCP     [2]string
	edgeWS      [2]string
	edgeAdmin   [2]string
}

func writeConfig(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func commonConfig(id, etcdAddr string) string {
	return fmt.Sprintf(`
[log]
level = "info"

[node]
id = %q
env = "e2e"
region = "local"
advertise_host = "127.0.0.1"

[shutdown]
timeout = "10s"

[registry]
kind = "etcd"

[registry.etcd]
endpoints = [%q]
lease_ttl = "2s"

[rpc]
secret = %q
`, id, etcdAddr, e2eRPCSecret)
}

// clusterOpts vary the cluster's edges.
type clusterOpts struct {
	// edgeShutdown replaces the edges' [shutdown] settings.
	edgeShutdown string
	// edgeExtra is added to the edges' [edge] section.
	edgeExtra string
	// logicExtra is appended to logic's config (whole tables, such as
	// [logic.history.users]).
	logicExtra string
	// webNodes registers each edge's WebSocket address as its node.domain
	// and serves the demo page (the SDK) on logic, so a browser on
	// logic's origin gets a dialable "host:port" per edge from
	// /goim/nodes/weighted although both edges share one host.
	webNodes bool
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	return startClusterWith(t, clusterOpts{edgeShutdown: "timeout = \"10s\"\ndrain_delay = \"2s\"\nclose_rate = 100"})
}

func startClusterWith(t *testing.T, opts clusterOpts) *cluster {
	t.Helper()
	c := &cluster{redis: testenv.Redis(t), etcd: testenv.Etcd(t)}
	var ports []string
	c.logic, ports = startReady(t, "logic", 3, func(ports []string) ([]string, []string, string) {
		cfg := commonConfig("logic-1", c.etcd.Addr) + fmt.Sprintf(`
[logic]
http_addr = %q
rpc_addr = %q
admin_addr = %q
demo_page = %t
online_ttl = "10s"

[store]
kind = "redis"

[store.redis]
addr = %q

[queue]
kind = "redis"

[queue.redis]
addr = %q
stream = "e2e-push"
%s
`, ports[0], ports[1], ports[2], opts.webNodes, c.redis.Addr, c.redis.Addr, opts.logicExtra)
		return nil, []string{"logic", "-config", writeConfig(t, "logic", cfg)}, "http://" + ports[2] + "/readyz"
	})
	c.httpAddr, c.logicAdmin = ports[0], ports[2]

	c.job, ports = startReady(t, "job", 1, func(ports []string) ([]string, []string, string) {
		cfg := commonConfig("job-1", c.etcd.Addr) + fmt.Sprintf(`
[job]
admin_addr = %q
rpc_timeout = "500ms"
retries = 1
edge_grace = "3s"

[queue]
kind = "redis"

[queue.redis]
addr = %q
stream = "e2e-push"
consumer = "job-1"
`, ports[0], c.redis.Addr)
		return nil, []string{"job", "-config", writeConfig(t, "job", cfg)}, "http://" + ports[0] + "/readyz"
	})
	c.jobAdmin = ports[0]

	for i := range c.edges {
		name := fmt.Sprintf("edge-%d", i+1)
		c.edges[i], ports = startReady(t, name, 4, func(ports []string) ([]string, []string, string) {
			common := commonConfig(name, c.etcd.Addr)
			if opts.webNodes {
				common = strings.Replace(common, "[node]\n", fmt.Sprintf("[node]\ndomain = %q\n", ports[1]), 1)
			}
			cfg := strings.Replace(common, `timeout = "10s"`, opts.edgeShutdown, 1) + fmt.Sprintf(`
[edge]
tcp_addr = %q
ws_addr = %q
rpc_addr = %q
admin_addr = %q
renew_online_interval = "500ms"
%s
`, ports[0], ports[1], ports[2], ports[3], opts.edgeExtra)
			// Edges also take overrides from the environment, as in the
			// Kubernetes manifests.
			env := []string{"GOIM_LOG_FORMAT=json"}
			return env, []string{"edge", "-config", writeConfig(t, name, cfg)}, "http://" + ports[3] + "/readyz"
		})
		c.edgeTCP[i], c.edgeWS[i], c.edgeAdmin[i] = ports[0], ports[1], ports[3]
	}
	// Pushes reach an edge once job has seen it in etcd.
	waitMetric(t, c.job, "http://"+c.jobAdmin+"/metrics", `goim_job_edges 2`, 15*time.Second)
	return c
}

// waitMetric polls a /metrics page until it contains line.
func waitMetric(t *testing.T, p *proc, rawURL, line string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	var body []byte
	for time.Now().Before(deadline) {
		resp, err := http.Get(rawURL)
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).Match(body) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %q not in %s after %v; log:\n%s", p.name, line, rawURL, d, p.log.String())
}

func TestClusterTwoEdges(t *testing.T) {
	c := startCluster(t)

	// One user (mid 7) on both edges, both devices in room live://9.
	a := dial(t, "device-on-edge-1", c.edgeTCP[0], 7, "phone", "live://9")
	b := dial(t, "device-on-edge-2", c.edgeTCP[1], 7, "laptop", "live://9")

	httpPush(t, c.httpAddr, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"7"}}, "to-user")
	a.expect(1000, "to-user", 10*time.Second)
	b.expect(1000, "to-user", 10*time.Second)

	httpPush(t, c.httpAddr, "/goim/push/room", url.Values{"operation": {"1001"}, "type": {"live"}, "room": {"9"}}, "to-room")
	a.expect(1001, "to-room", 10*time.Second)
	b.expect(1001, "to-room", 10*time.Second)

	httpPush(t, c.httpAddr, "/goim/push/keys", url.Values{"operation": {"1002"}, "keys": {"laptop"}}, "to-laptop")
	b.expect(1002, "to-laptop", 10*time.Second)

	// The room count is cluster-wide: both edges report to logic.
	waitOnline(t, c, "9", 2, 15*time.Second)

	// SIGKILL edge-2: no deregistration, no goodbye. edge-1 keeps serving.
	if err := c.edges[1].stop(t, syscall.SIGKILL, 5*time.Second); err == nil {
		t.Fatal("edge-2 exited cleanly on SIGKILL?")
	}
	httpPush(t, c.httpAddr, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"7"}}, "after-kill")
	a.expect(1000, "after-kill", 10*time.Second)
	httpPush(t, c.httpAddr, "/goim/push/room", url.Values{"operation": {"1001"}, "type": {"live"}, "room": {"9"}}, "room-after-kill")
	a.expect(1001, "room-after-kill", 10*time.Second)

	// New devices still connect to edge-1, and the dead edge leaves etcd
	// when its lease (2 s) runs out: job drops it after its grace (3 s).
	d := dial(t, "new-device", c.edgeTCP[0], 8, "", "live://9")
	httpPush(t, c.httpAddr, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"8"}}, "welcome")
	d.expect(1000, "welcome", 10*time.Second)
	waitMetric(t, c.job, "http://"+c.jobAdmin+"/metrics", `goim_job_edges 1`, 15*time.Second)

	// Redis goes away: logic stays alive but unready, and recovers.
	c.redis.Stop()
	waitStatus(t, "http://"+c.logicAdmin+"/readyz", 503, 15*time.Second)
	waitStatus(t, "http://"+c.httpAddr+"/healthz", 200, 10*time.Second)
	waitStatus(t, "http://"+c.logicAdmin+"/healthz", 200, 10*time.Second)
	if err := c.redis.Start(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, "http://"+c.logicAdmin+"/readyz", 200, 15*time.Second)

	// SIGTERM edge-1: it is published as draining (logic's node list
	// marks it) while it still serves its devices through the drain
	// delay, then closes them, deregisters and exits 0.
	_ = c.edges[0].cmd.Process.Signal(syscall.SIGTERM)
	waitDraining(t, c, "edge-1", 5*time.Second)
	a.send(2, nil) // heartbeat: still answered while draining
	for f := a.read(5 * time.Second); f.Op != 3; f = a.read(5 * time.Second) {
	}
	if err := c.edges[0].wait(t, 15*time.Second); err != nil {
		t.Fatalf("edge-1: exit %v", err)
	}
	waitGone(t, c, "edge-1", 5*time.Second)
	if _, err := a.tryRead(5 * time.Second); err == nil {
		t.Fatal("device still connected after edge-1 stopped")
	}
	// The connections were ended by the drain (shutdown.close_rate's
	// path), not left to the shutdown's close-all; the pace itself is
	// measured on many devices by TestClusterDrainDelivers.
	if log := c.edges[0].log.String(); !strings.Contains(log, `"msg":"closing connections"`) {
		t.Fatalf("edge-1 did not end its connections through the drain; log:\n%s", log)
	}

	// Everything that is left shuts down gracefully.
	for _, p := range []*proc{c.job, c.logic} {
		if err := p.stop(t, syscall.SIGTERM, 15*time.Second); err != nil {
			t.Fatalf("%s: SIGTERM exit %v; log:\n%s", p.name, err, p.log.String())
		}
	}
}

// waitOnline polls GET /goim/online/room until room has n members.
func waitOnline(t *testing.T, c *cluster, room string, n int, d time.Duration) {
	t.Helper()
	want := fmt.Sprintf(`"%s":%d`, room, n)
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + c.httpAddr + "/goim/online/room?type=live&rooms=" + room)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if strings.Contains(last, want) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("online/room: want %s, last %s", want, last)
}

// waitGone polls logic's /goim/nodes/instances until node is not listed.
func waitGone(t *testing.T, c *cluster, node string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + c.httpAddr + "/goim/nodes/instances")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if resp.StatusCode == 200 && !strings.Contains(last, `"node":"`+node+`"`) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s still registered after %v: %s", node, d, last)
}

// waitStatus polls url until it answers with code.
func waitStatus(t *testing.T, rawURL string, code int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := http.Get(rawURL)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == code {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: want %d within %v, last %s", rawURL, code, d, last)
}
