package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/goim-edge/goim-edge/internal/lookbin"
)

// Cluster is a running cluster. Its fields are set by Start and read-only.
type Cluster struct {
	// Dir is the cluster's folder; StatePath its state file.
	Dir       string
	StatePath string
	// TCP and WS are the edges' device addresses (host:port, and
	// ws://host:port/sub), in edge order.
	TCP []string
	WS  []string
	// HTTP is logic's goim HTTP API (host:port); RPC its Kitex Push
	// service; RPCSecret every node's rpc.secret.
	HTTP      string
	RPC       string
	RPCSecret string
	// Redis and Etcd are the backends' client addresses (host:port).
	Redis string
	Etcd  string
	// Queue is QueueRedis or QueueKafka; Kafka kfake's broker addresses
	// (kfake: in-process fake, not a real broker).
	Queue string
	Kafka []string
	// Nodes are every process in start order (redis, etcd, logic, jobs,
	// edges) with PIDs, ports, admin and metrics URLs.
	Nodes []*Node

	spec  Spec
	state State
	procs []*proc
	kfake *kfake.Cluster

	closeOnce sync.Once
	closeErr  error

	clientsOnce sync.Once
	rdb         *redis.Client
	etcdc       *clientv3.Client
	etcdErr     error
}

// Start launches the cluster spec describes and returns once every node
// is ready. On error it stops whatever it started. ctx bounds the start
// only; the processes run until Close (or, with Spec.Detach, StopState).
// With free ports, a start that lost a port to another program is tried
// again on new ports, up to three times.
func Start(ctx context.Context, spec Spec) (*Cluster, error) {
	if err := spec.defaults(); err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(spec.Bin)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("cluster: Spec.Bin %s is not an executable", spec.Bin)
	}
	b := bins{goim: bin}
	if b.redis, err = lookbin.Find("redis-server"); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if b.etcd, err = lookbin.Find("etcd"); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := prepareDir(&spec); err != nil {
		return nil, err
	}
	if spec.RPCSecret == "" {
		r := make([]byte, 32)
		_, _ = rand.Read(r)
		spec.RPCSecret = hex.EncodeToString(r)
	}
	if err := os.WriteFile(filepath.Join(spec.Dir, "conf", "rpc.secret"), []byte(spec.RPCSecret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, spec.ReadyTimeout)
	defer cancel()
	for try := 1; ; try++ {
		c, err := startOnce(ctx, spec, b)
		if err == nil || spec.FixedPorts || try == 3 || ctx.Err() != nil ||
			!strings.Contains(strings.ToLower(err.Error()), "address already in use") {
			return c, err
		}
		// Another program took a free port first: fresh data, new ports.
		if err := clearData(spec.Dir); err != nil {
			return nil, err
		}
	}
}

// bins are the programs a cluster runs.
type bins struct{ goim, redis, etcd string }

// startOnce starts every process on one set of ports.
func startOnce(ctx context.Context, spec Spec, b bins) (c *Cluster, err error) {
	var l *layout
	if spec.FixedPorts {
		l, err = fixedPorts(spec.Edges, spec.Jobs, spec.PortOffset)
	} else {
		l, err = freePorts(spec.Edges, spec.Jobs)
	}
	if err != nil {
		return nil, err
	}
	c = &Cluster{
		Dir: spec.Dir, StatePath: filepath.Join(spec.Dir, StateFile),
		HTTP: addr(l.logicHTTP), RPC: addr(l.logicRPC), RPCSecret: spec.RPCSecret,
		Redis: addr(l.redis), Etcd: addr(l.etcd), Queue: spec.Queue, spec: spec,
	}
	for _, e := range l.edges {
		c.TCP = append(c.TCP, addr(e.tcp))
		c.WS = append(c.WS, "ws://"+addr(e.ws)+"/sub")
	}
	c.state = State{Dir: spec.Dir, Queue: spec.Queue, Detached: spec.Detach, OwnerPID: os.Getpid(), HTTP: c.HTTP, RPC: c.RPC,
		TCP: c.TCP, WS: c.WS, RPCSecretFile: filepath.Join(spec.Dir, "conf", "rpc.secret")}
	defer func() {
		if err != nil {
			_ = c.Close()
			c = nil
		}
	}()
	if err := c.startBackends(ctx, b.redis, b.etcd, l); err != nil {
		return nil, err
	}
	cfg := &configs{secret: spec.RPCSecret, logLevel: spec.LogLevel, redis: c.Redis, etcd: c.Etcd, queue: spec.Queue}
	if spec.Queue == QueueKafka {
		if c.kfake, err = startKfake(); err != nil {
			return nil, err
		}
		c.Kafka = c.kfake.ListenAddrs()
		c.state.Kafka = c.Kafka
		cfg.brokers = c.Kafka
	}
	if err := c.startNodes(ctx, b.goim, cfg, l); err != nil {
		return nil, err
	}
	return c, nil
}

// prepareDir makes the cluster's folder and its conf, logs and data
// subfolders; an empty Spec.Dir becomes a fresh temporary folder. A
// folder holding an earlier cluster's etcd data is refused: etcd would
// start that cluster again instead of a new one.
func prepareDir(spec *Spec) error {
	if spec.Dir == "" {
		d, err := os.MkdirTemp("", "goim-edge-cluster.")
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		spec.Dir = d
	}
	abs, err := filepath.Abs(spec.Dir)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	spec.Dir = abs
	if ents, err := os.ReadDir(filepath.Join(abs, "data", "etcd")); err == nil && len(ents) > 0 {
		return fmt.Errorf("cluster: %s holds an earlier cluster's data (data/etcd); remove its data folder or use another Spec.Dir", abs)
	}
	for _, sub := range []string{"conf", "logs", "data/redis", "data/etcd"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	return nil
}

// clearData empties the data folders this Start made, for another try.
func clearData(dir string) error {
	for _, sub := range []string{"data/redis", "data/etcd"} {
		p := filepath.Join(dir, sub)
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	return nil
}

// launch starts a process for n and records it in the state file.
func (c *Cluster) launch(n *Node, bin string, args []string) (*proc, error) {
	n.Log = logPath(c.Dir, n.Name)
	p, err := startProc(n, c.Dir, bin, args, c.spec.Detach)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	c.Nodes = append(c.Nodes, n)
	c.state.Nodes = c.Nodes
	if err := c.state.write(); err != nil {
		return nil, err
	}
	return p, nil
}

// startBackends starts redis-server and etcd and waits for both.
func (c *Cluster) startBackends(ctx context.Context, redisBin, etcdBin string, l *layout) error {
	rp, err := c.launch(&Node{Role: roleRedis, Name: "redis",
		Ports: map[string]int{"client": l.redis}, Addrs: map[string]string{"client": c.Redis}},
		redisBin, []string{"--port", strconv.Itoa(l.redis), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", filepath.Join(c.Dir, "data", "redis"), "--protected-mode", "no"})
	if err != nil {
		return err
	}
	peer := "http://" + addr(l.etcdPeer)
	client := "http://" + c.Etcd
	ep, err := c.launch(&Node{Role: roleEtcd, Name: "etcd",
		Ports: map[string]int{"client": l.etcd, "peer": l.etcdPeer}, Addrs: map[string]string{"client": c.Etcd, "peer": addr(l.etcdPeer)},
		MetricsURL: client + "/metrics"},
		etcdBin, []string{"--name", "local", "--data-dir", filepath.Join(c.Dir, "data", "etcd"),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", "local=" + peer, "--initial-cluster-state", "new", "--log-level", "warn"})
	if err != nil {
		return err
	}
	return waitAll(
		func() error {
			return rp.waitFor(ctx, "PING", func(ctx context.Context) error { return redisPing(ctx, c.Redis) })
		},
		func() error {
			return ep.waitFor(ctx, "/health", func(ctx context.Context) error { return httpOK(ctx, client+"/health") })
		},
	)
}

// startNodes writes the goim-edge configs, starts logic, then the jobs
// and edges, and waits until every job routes to every edge.
func (c *Cluster) startNodes(ctx context.Context, bin string, cfg *configs, l *layout) error {
	node := func(role, name, config string, ports map[string]int) (*proc, error) {
		path := filepath.Join(c.Dir, "conf", name+".toml")
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		n := &Node{Role: role, Name: name, Ports: ports, Addrs: map[string]string{}, Config: path,
			AdminURL: "http://" + addr(ports["admin"])}
		n.MetricsURL = n.AdminURL + "/metrics"
		for k, p := range ports {
			n.Addrs[k] = addr(p)
		}
		if p, ok := ports["ws"]; ok {
			n.Addrs["ws"] = "ws://" + addr(p) + "/sub"
		}
		args := append([]string{role, "-config", path}, c.spec.setsFor(role)...)
		return c.launch(n, bin, args)
	}
	ready := func(p *proc) func() error {
		return func() error {
			return p.waitFor(ctx, "/readyz", func(ctx context.Context) error { return httpOK(ctx, p.AdminURL+"/readyz") })
		}
	}
	lp, err := node(roleLogic, "logic", cfg.logic("logic-1", l),
		map[string]int{"http": l.logicHTTP, "rpc": l.logicRPC, "admin": l.logicAdmin})
	if err != nil {
		return err
	}
	if err := ready(lp)(); err != nil {
		return err
	}
	var jobs, waits []func() error
	for i, admin := range l.jobAdmin {
		name := fmt.Sprintf("job-%d", i+1)
		jp, err := node(roleJob, name, cfg.job(name, admin), map[string]int{"admin": admin})
		if err != nil {
			return err
		}
		waits = append(waits, ready(jp))
		edges := seesEdges(len(l.edges))
		jobs = append(jobs, func() error {
			return jp.waitFor(ctx, fmt.Sprintf("%d edges in %s", len(l.edges), jobEdges),
				func(ctx context.Context) error { return edges(ctx, jp.MetricsURL) })
		})
	}
	for i, e := range l.edges {
		name := fmt.Sprintf("edge-%d", i+1)
		ep, err := node(roleEdge, name, cfg.edge(name, e),
			map[string]int{"tcp": e.tcp, "ws": e.ws, "rpc": e.rpc, "admin": e.admin})
		if err != nil {
			return err
		}
		waits = append(waits, ready(ep))
	}
	if err := waitAll(waits...); err != nil {
		return err
	}
	return waitAll(jobs...)
}

// waitAll runs fs concurrently and joins their errors.
func waitAll(fs ...func() error) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close stops every process, edges first, then jobs, logic, etcd and
// redis (SIGTERM, SIGKILL after Spec.Grace), then kfake, and returns once
// all were reaped. The folder stays. It is safe to call more than once.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		if c.rdb != nil {
			_ = c.rdb.Close()
		}
		if c.etcdc != nil {
			_ = c.etcdc.Close()
		}
		var errs []error
		for _, group := range stopOrder(c.Nodes) {
			var fs []func() error
			for _, n := range group {
				for _, p := range c.procs {
					if p.Node == n {
						fs = append(fs, func() error { return p.stop(c.spec.Grace) })
					}
				}
			}
			errs = append(errs, waitAll(fs...))
		}
		if c.kfake != nil {
			c.kfake.Close()
		}
		if len(c.Nodes) > 0 {
			errs = append(errs, RemoveState(c.Dir))
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// Node returns the node named name ("edge-1", "logic", …), or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}
