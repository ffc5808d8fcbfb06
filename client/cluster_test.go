package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
)

// cluster is logic, job and two edges over real redis and etcd. The
// edges listen on 127.0.0.2 and 127.0.0.3 with the same device ports,
// because /goim/nodes/weighted names nodes by IP with one port set for
// the whole cluster, as in goim.
type cluster struct {
	http     string
	tcpPort  int
	wsPort   int
	edges    [2]*testenv.Server
	edgeHost [2]string
}

func writeConfig(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// portOnBoth is a port free on both hosts a moment ago.
func portOnBoth(t *testing.T, a, b string) int {
	t.Helper()
	for try := 0; try < 20; try++ {
		la, err := net.Listen("tcp", a+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := la.Addr().(*net.TCPAddr).Port
		lb, err := net.Listen("tcp", net.JoinHostPort(b, strconv.Itoa(port)))
		la.Close()
		if err == nil {
			lb.Close()
			return port
		}
	}
	t.Fatalf("no port free on both %s and %s", a, b)
	return 0
}

func commonConfig(id, etcd string) string {
	return fmt.Sprintf(`
[node]
id = %q
env = "client-test"
region = "local"

[shutdown]
timeout = "15s"
drain_delay = "4s"

[registry]
kind = "etcd"

[registry.etcd]
endpoints = [%q]
lease_ttl = "2s"

[rpc]
secret = %q
`, id, etcd, rpcSecret)
}

func program(t *testing.T, name string, args []string, ready string) *testenv.Server {
	t.Helper()
	srv, err := testenv.Program(t, testenv.ProgramSpec{Name: name, Bin: serverBin(t), Args: args, Env: testEnv(), ReadyURL: ready})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", name, srv.Log())
		}
	})
	return srv
}

func loopback(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) }

func startCluster(t *testing.T) *cluster {
	t.Helper()
	redis, etcd := testenv.Redis(t), testenv.Etcd(t)
	c := &cluster{edgeHost: [2]string{"127.0.0.2", "127.0.0.3"}}
	c.tcpPort = portOnBoth(t, c.edgeHost[0], c.edgeHost[1])
	c.wsPort = portOnBoth(t, c.edgeHost[0], c.edgeHost[1])
	c.http = loopback(t)
	logicAdmin := loopback(t)
	program(t, "logic", []string{"logic", "-config", writeConfig(t, "logic", commonConfig("logic-1", etcd.Addr)+fmt.Sprintf(`
[logic]
http_addr = %q
rpc_addr = %q
admin_addr = %q
demo_page = false

[logic.nodes]
tcp_port = %d
ws_port = %d

[store]
kind = "redis"

[store.redis]
addr = %q

[queue]
kind = "redis"

[queue.redis]
addr = %q
stream = "client-push"
`, c.http, loopback(t), logicAdmin, c.tcpPort, c.wsPort, redis.Addr, redis.Addr))}, "http://"+logicAdmin+"/readyz")

	jobAdmin := loopback(t)
	program(t, "job", []string{"job", "-config", writeConfig(t, "job", commonConfig("job-1", etcd.Addr)+fmt.Sprintf(`
[job]
admin_addr = %q
rpc_timeout = "500ms"
retries = 1
edge_grace = "3s"

[queue]
kind = "redis"

[queue.redis]
addr = %q
stream = "client-push"
consumer = "job-1"
`, jobAdmin, redis.Addr))}, "http://"+jobAdmin+"/readyz")

	for i, host := range c.edgeHost {
		c.edges[i] = startEdge(t, fmt.Sprintf("edge-%d", i+1), host, etcd.Addr, c.tcpPort, c.wsPort)
	}
	c.waitNodes(t, 2)
	waitBody(t, "http://"+jobAdmin+"/metrics", "\ngoim_job_edges 2\n")
	return c
}

// startEdge starts one edge on host with the cluster's device ports. Its
// RPC and admin ports are picked free just before, and other test
// processes may take one in between: a start that failed on a busy port
// is tried again on new ones.
func startEdge(t *testing.T, name, host, etcd string, tcpPort, wsPort int) *testenv.Server {
	t.Helper()
	for try := 1; ; try++ {
		admin := loopback(t)
		args := []string{"edge", "-config", writeConfig(t, name, commonConfig(name, etcd)+fmt.Sprintf(`
[edge]
tcp_addr = "%s:%d"
ws_addr = "%s:%d"
rpc_addr = %q
admin_addr = %q
`, host, tcpPort, host, wsPort, net.JoinHostPort(host, strconv.Itoa(portOnBoth(t, host, "127.0.0.1"))), admin))}
		srv, err := testenv.Program(t, testenv.ProgramSpec{Name: name, Bin: serverBin(t), Args: args, Env: testEnv(), ReadyURL: "http://" + admin + "/readyz"})
		if err != nil && try < 3 && strings.Contains(err.Error(), "address already in use") {
			t.Logf("start %s: %v; again on new ports", name, err)
			continue
		}
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("---- %s log ----\n%s", name, srv.Log())
			}
		})
		return srv
	}
}

func (c *cluster) nodesURL() string {
	return "http://" + c.http + "/goim/nodes/weighted?platform=android"
}

// waitNodes polls the node list until it offers n edges.
func (c *cluster) waitNodes(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(c.nodesURL())
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			var r nodesReply
			if json.Unmarshal(b, &r) == nil && len(r.Data.Nodes) == n {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("node list never offered %d edges; last %s", n, last)
}

func waitBody(t *testing.T, rawURL, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(rawURL)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), want) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never contained %q", rawURL, want)
}

// TestFailoverToOtherEdge: a client that takes its edges from
// /goim/nodes/weighted reconnects to the other edge when the one it is on
// is killed; the dead edge may still be listed (its lease runs 2 s), so
// the client falls back to the next node.
func TestFailoverToOtherEdge(t *testing.T) {
	c := startCluster(t)
	for i, tr := range []Transport{TCP, WS} {
		t.Run(string(tr), func(t *testing.T) {
			mid := int64(500 + i)
			cl, b := dialInbox(t, Options{
				NodesURL:  c.nodesURL(),
				Transport: tr,
				Token:     JSONToken{Mid: mid, Accepts: []int32{1000}}.Bytes(),
				Backoff:   fastBackoff,
			})
			first := cl.Addr()
			on := -1
			for k, h := range c.edgeHost {
				if strings.Contains(first, h+":") {
					on = k
				}
			}
			if on < 0 {
				t.Fatalf("connected to %q, not an edge of the cluster", first)
			}
			c.edges[on].Kill()
			ev := b.waitConnected(t, 2)
			if !strings.Contains(ev.Addr, c.edgeHost[1-on]+":") {
				t.Fatalf("reconnected to %q, want edge %s", ev.Addr, c.edgeHost[1-on])
			}
			q := url.Values{"operation": {"1000"}, "mids": {strconv.FormatInt(mid, 10)}}
			httpPush(t, c.http, "/goim/push/mids", q, "after-failover")
			b.expect(t, 1000, "after-failover")
			closeClient(t, cl)

			// Bring the edge back for the next transport.
			if err := c.edges[on].Start(); err != nil {
				t.Fatal(err)
			}
			c.waitNodes(t, 2)
		})
	}
}
