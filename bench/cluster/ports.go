package cluster

import (
	"fmt"
	"net"
	"strings"
)

// layout is every port a cluster listens on.
type layout struct {
	redis, etcd, etcdPeer           int
	logicHTTP, logicRPC, logicAdmin int
	jobAdmin                        []int
	edges                           []edgePorts
}

// edgePorts are one edge's ports.
type edgePorts struct{ tcp, ws, rpc, admin int }

func (l *layout) all() []int {
	out := []int{l.redis, l.etcd, l.etcdPeer, l.logicHTTP, l.logicRPC, l.logicAdmin}
	out = append(out, l.jobAdmin...)
	for _, e := range l.edges {
		out = append(out, e.tcp, e.ws, e.rpc, e.admin)
	}
	return out
}

// fixedPorts is deploy/local/cluster.sh's layout moved by off:
// redis-server 26379, etcd 22379 (peer 22380), logic HTTP 3111, RPC 3119,
// admin 3118, job-k admin 3118+10k (3128, 3138, …), edge-k TCP 3001+100k,
// WS 3002+100k, admin 3008+100k, RPC 3009+100k (edge-1 3101…, edge-2
// 3201…). It fails if any port is taken, naming them all.
func fixedPorts(edges, jobs, off int) (*layout, error) {
	l := &layout{
		redis: 26379 + off, etcd: 22379 + off, etcdPeer: 22380 + off,
		logicHTTP: 3111 + off, logicRPC: 3119 + off, logicAdmin: 3118 + off,
	}
	for k := 1; k <= jobs; k++ {
		l.jobAdmin = append(l.jobAdmin, 3118+10*k+off)
	}
	for k := 1; k <= edges; k++ {
		b := 3000 + 100*k + off
		l.edges = append(l.edges, edgePorts{tcp: b + 1, ws: b + 2, rpc: b + 9, admin: b + 8})
	}
	var busy []string
	for _, p := range l.all() {
		if p <= 0 || p > 65535 {
			return nil, fmt.Errorf("cluster: port offset %d puts port %d out of range", off, p)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			busy = append(busy, fmt.Sprint(p))
			continue
		}
		ln.Close()
	}
	if len(busy) > 0 {
		return nil, fmt.Errorf("cluster: ports already in use on 127.0.0.1: %s (is another goim-edge running? make run? another -port-offset?)", strings.Join(busy, " "))
	}
	return l, nil
}

// freePorts is a layout of loopback ports that were free a moment ago:
// all are held open together, so they are distinct, and released on
// return.
func freePorts(edges, jobs int) (*layout, error) {
	n := 6 + jobs + 4*edges
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	ps := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cluster: free port: %w", err)
		}
		lns = append(lns, l)
		ps = append(ps, l.Addr().(*net.TCPAddr).Port)
	}
	next := func() int { p := ps[0]; ps = ps[1:]; return p }
	l := &layout{redis: next(), etcd: next(), etcdPeer: next(), logicHTTP: next(), logicRPC: next(), logicAdmin: next()}
	for range jobs {
		l.jobAdmin = append(l.jobAdmin, next())
	}
	for range edges {
		l.edges = append(l.edges, edgePorts{tcp: next(), ws: next(), rpc: next(), admin: next()})
	}
	return l, nil
}

// addr is 127.0.0.1:p.
func addr(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
