package cluster

import (
	"fmt"
	"strings"
)

// Roles of a cluster's processes.
const (
	roleRedis = "redis"
	roleEtcd  = "etcd"
	roleLogic = "logic"
	roleJob   = "job"
	roleEdge  = "edge"
)

// configs writes the TOML files of goim-edge nodes; everything here is
// what deploy/local/cluster.sh wrote, plus the queue kind and log level.
type configs struct {
	secret   string
	logLevel string
	redis    string   // host:port
	etcd     string   // host:port
	queue    string   // QueueRedis or QueueKafka
	brokers  []string // kfake's addresses for QueueKafka
}

func (c *configs) common(id string) string {
	return fmt.Sprintf(`[log]
level = %q

[node]
id = %q
env = "local"
region = "local"
advertise_host = "127.0.0.1"

[shutdown]
timeout = "15s"

[registry]
kind = "etcd"

[registry.etcd]
endpoints = [%q]
lease_ttl = "5s"

[rpc]
secret = %q
`, c.logLevel, id, c.etcd, c.secret)
}

// queueConfig is the [queue] section; consumer names a job's Redis
// Streams consumer ("" for logic, which only produces).
func (c *configs) queueConfig(consumer string) string {
	if c.queue == QueueKafka {
		q := make([]string, len(c.brokers))
		for i, b := range c.brokers {
			q[i] = fmt.Sprintf("%q", b)
		}
		// kfake accepts short group sessions, so a job joins quickly.
		return fmt.Sprintf(`
[queue]
kind = "kafka"

[queue.kafka]
brokers = [%s]
create_topics = true
partitions = 4
heartbeat_interval = "300ms"
session_timeout = "3s"
rebalance_timeout = "5s"
`, strings.Join(q, ", "))
	}
	s := fmt.Sprintf(`
[queue]
kind = "redis"

[queue.redis]
addr = %q
`, c.redis)
	if consumer != "" {
		s += fmt.Sprintf("consumer = %q\n", consumer)
	}
	return s
}

func (c *configs) logic(id string, l *layout) string {
	return c.common(id) + fmt.Sprintf(`
[logic]
http_addr = %q
rpc_addr = %q
admin_addr = %q
demo_ws_url = "ws://%s/sub"

[auth]
# Everything here listens on loopback: the trusted network json needs
# (it believes whatever a device claims; docs/security.md).
mode = "json"

[store]
kind = "redis"

[store.redis]
addr = %q
`, addr(l.logicHTTP), addr(l.logicRPC), addr(l.logicAdmin), addr(l.edges[0].ws), c.redis) + c.queueConfig("")
}

func (c *configs) job(id string, admin int) string {
	return c.common(id) + fmt.Sprintf(`
[job]
admin_addr = %q
`, addr(admin)) + c.queueConfig(id)
}

func (c *configs) edge(id string, p edgePorts) string {
	return c.common(id) + fmt.Sprintf(`
[edge]
tcp_addr = %q
ws_addr = %q
rpc_addr = %q
admin_addr = %q
`, addr(p.tcp), addr(p.ws), addr(p.rpc), addr(p.admin))
}
