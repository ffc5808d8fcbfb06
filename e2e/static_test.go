package e2e

import (
	"fmt"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
)

// TestClusterStaticRegistry runs logic, job and an edge as separate
// processes without etcd, all reading one shared file in the shape of
// deploy/config/cluster-static.toml: the edge finds logic and job finds
// the edge in the fixed lists.
func TestClusterStaticRegistry(t *testing.T) {
	redis := testenv.Redis(t)
	logicHTTP, logicRPC, logicAdmin, jobAdmin := addr(t), addr(t), addr(t), addr(t)
	edgeTCP, edgeWS, edgeRPC, edgeAdmin := addr(t), addr(t), addr(t), addr(t)
	shared := writeConfig(t, "cluster-static", fmt.Sprintf(`
[node]
env = "e2e"
region = "local"

[registry]
kind = "static"

[rpc]
secret = %q

[registry.static]
logic = [%q]

[[registry.static.edges]]
id = "edge-1"
rpc = %q
tcp = %q
ws = %q

[edge]
tcp_addr = %q
ws_addr = %q
rpc_addr = %q
admin_addr = %q

[logic]
http_addr = %q
rpc_addr = %q
admin_addr = %q

[job]
admin_addr = %q

[store]
kind = "redis"

[store.redis]
addr = %q

[queue]
kind = "redis"

[queue.redis]
addr = %q
stream = "e2e-static"
`, e2eRPCSecret, logicRPC, edgeRPC, edgeTCP, edgeWS, edgeTCP, edgeWS, edgeRPC, edgeAdmin, logicHTTP, logicRPC, logicAdmin, jobAdmin, redis.Addr, redis.Addr))

	logic := start(t, "logic", nil, "logic", "-config", shared, "-set", "node.id=logic-1")
	waitReady(t, logic, "http://"+logicAdmin+"/readyz")
	job := start(t, "job", []string{"GOIM_NODE_ID=job-1", "GOIM_QUEUE_REDIS_CONSUMER=job-1"}, "job", "-config", shared)
	waitReady(t, job, "http://"+jobAdmin+"/readyz")
	edge := start(t, "edge-1", nil, "edge", "-config", shared, "-set", "node.id=edge-1")
	waitReady(t, edge, "http://"+edgeAdmin+"/readyz")

	d := dial(t, "device", edgeTCP, 77, "", "live://5")
	httpPush(t, logicHTTP, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"77"}}, "static-mids")
	d.expect(1000, "static-mids", 10*time.Second)
	httpPush(t, logicHTTP, "/goim/push/room", url.Values{"operation": {"1000"}, "type": {"live"}, "room": {"5"}}, "static-room")
	d.expect(1000, "static-room", 10*time.Second)

	for _, p := range []*proc{edge, job, logic} {
		if err := p.stop(t, syscall.SIGTERM, 15*time.Second); err != nil {
			t.Fatalf("%s: exit %v", p.name, err)
		}
	}
}

func waitReady(t *testing.T, p *proc, rawURL string) {
	t.Helper()
	if err := pollHTTP(p, rawURL, 30*time.Second); err != nil {
		t.Fatalf("%v; log:\n%s", err, p.log.String())
	}
}
