package etcdreg

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/registry"
)

// Child-process mode: the lease-expiry test re-executes this test binary
// with these variables set to get a registrar it can SIGKILL.
const (
	envChildEtcd = "GOIM_TEST_REGISTRAR_ETCD"
	envChildNode = "GOIM_TEST_REGISTRAR_NODE"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(envChildEtcd); addr != "" {
		runChildRegistrar(addr, os.Getenv(envChildNode))
		return
	}
	os.Exit(m.Run())
}

// runChildRegistrar registers a node, says so on stdout and waits to be
// killed.
func runChildRegistrar(addr, node string) {
	cfg := testConfig(addr)
	cli, err := NewClient(cfg)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	r := NewRegistrar(cli, cfg, nil)
	if err := r.Register(context.Background(), edgeInstance(node)); err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Println("registered")
	select {}
}

func testConfig(addr string) Config {
	cfg := DefaultConfig()
	cfg.Endpoints = []string{addr}
	cfg.Env = "test"
	cfg.TTL = 2 * time.Second
	cfg.DialTimeout = time.Second
	return cfg
}

func edgeInstance(node string) registry.Instance {
	return registry.Instance{
		Service: registry.ServiceEdge, Node: node,
		Addrs:  registry.Addrs{RPC: "127.0.0.1:3109", TCP: "10.0.0.1:3101", WS: "10.0.0.1:3102"},
		Weight: 10, Started: time.Unix(1700000000, 0).UTC(),
	}
}

func newClient(t testing.TB, cfg Config) *clientv3.Client {
	t.Helper()
	cli, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// get reads key directly; it returns ok=false when absent.
func get(t *testing.T, cli *clientv3.Client, key string) (registry.Instance, int64, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return registry.Instance{}, 0, false
	}
	var inst registry.Instance
	if err := json.Unmarshal(resp.Kvs[0].Value, &inst); err != nil {
		t.Fatalf("value of %s: %v", key, err)
	}
	return inst, resp.Kvs[0].Lease, true
}

// viewRecorder records a watch's views with their arrival time.
type viewRecorder struct {
	mu    sync.Mutex
	views [][]registry.Instance
	ch    chan struct{}
}

func newViewRecorder() *viewRecorder { return &viewRecorder{ch: make(chan struct{}, 1)} }

func (v *viewRecorder) fn(list []registry.Instance) {
	v.mu.Lock()
	v.views = append(v.views, list)
	v.mu.Unlock()
	select {
	case v.ch <- struct{}{}:
	default:
	}
}

// waitFor waits until the latest view satisfies cond and returns how long
// that took.
func (v *viewRecorder) waitFor(t testing.TB, what string, timeout time.Duration, cond func([]registry.Instance) bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(timeout)
	for {
		v.mu.Lock()
		var last []registry.Instance
		if n := len(v.views); n > 0 {
			last = v.views[n-1]
		}
		v.mu.Unlock()
		if cond(last) {
			return time.Since(start)
		}
		select {
		case <-v.ch:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: not seen within %v; last view %v", what, timeout, nodeNames(last))
		}
	}
}

func nodeNames(list []registry.Instance) []string {
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = in.Node
	}
	return out
}

func has(node string) func([]registry.Instance) bool {
	return func(l []registry.Instance) bool {
		for _, in := range l {
			if in.Node == node {
				return true
			}
		}
		return false
	}
}

func not(f func([]registry.Instance) bool) func([]registry.Instance) bool {
	return func(l []registry.Instance) bool { return !f(l) }
}

// viewWait bounds the wait for a change etcd has accepted to reach a
// watch: generous, since it only catches a change that never arrives
// (the latency is BenchmarkWatchLatency's).
const viewWait = 10 * time.Second

// expiryWait bounds the wait for what follows from a lease running out
// (TTL 2 s, etcd checking expiry every 500 ms), with room for a loaded
// machine.
const expiryWait = 15 * time.Second

func TestRegisterUpdateDeregister(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	cli := newClient(t, cfg)
	ctx := testCtx(t)

	r := NewRegistrar(cli, cfg, nil)
	inst := edgeInstance("edge-1")
	if err := r.Register(ctx, inst); err != nil {
		t.Fatal(err)
	}
	key := "/test/goim.edge/sh/edge-1"
	got, lease, ok := get(t, cli, key)
	if !ok {
		t.Fatalf("%s not registered", key)
	}
	if got.Env != "test" || got.Region != "sh" || got.Zone != "sh001" || got.Addrs.TCP != "10.0.0.1:3101" || !got.Started.Equal(inst.Started) {
		t.Fatalf("registered value %+v", got)
	}
	if lease == 0 || clientv3.LeaseID(lease) != r.Lease() {
		t.Fatalf("key lease %x, registrar lease %x", lease, r.Lease())
	}
	ttl, err := cli.TimeToLive(ctx, clientv3.LeaseID(lease))
	if err != nil || ttl.GrantedTTL != 2 {
		t.Fatalf("lease TTL %+v, %v", ttl, err)
	}
	if err := r.Register(ctx, edgeInstance("edge-2")); err == nil {
		t.Fatal("second Register without Deregister succeeded")
	}

	// Keepalive holds the key past the TTL: a deliberate wait, longer
	// than the TTL (2 s), after which an unrenewed key would be gone.
	time.Sleep(3 * time.Second)
	if _, _, ok := get(t, cli, key); !ok {
		t.Fatal("key expired although kept alive")
	}

	inst.Conns, inst.IPs, inst.Draining = 120, 80, true
	if err := r.Update(ctx, inst); err != nil {
		t.Fatal(err)
	}
	got, lease2, _ := get(t, cli, key)
	if got.Conns != 120 || got.IPs != 80 || !got.Draining || lease2 != lease {
		t.Fatalf("after update %+v lease %x (was %x)", got, lease2, lease)
	}
	other := inst
	other.Node = "elsewhere"
	if err := r.Update(ctx, other); err == nil {
		t.Fatal("update of another key succeeded")
	}

	if err := r.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := get(t, cli, key); ok {
		t.Fatal("key still present after Deregister")
	}
	ttl, err = cli.TimeToLive(ctx, clientv3.LeaseID(lease))
	if err != nil || ttl.TTL != -1 {
		t.Fatalf("lease not revoked: %+v %v", ttl, err)
	}
	if err := r.Deregister(ctx); err != nil {
		t.Fatalf("second Deregister: %v", err)
	}
	if err := r.Update(ctx, inst); err == nil {
		t.Fatal("update after Deregister succeeded")
	}
	// A registrar can register again after Deregister.
	if err := r.Register(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterRejectsBadInstance(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	r := NewRegistrar(newClient(t, cfg), cfg, nil)
	for _, inst := range []registry.Instance{
		{Service: registry.ServiceEdge},              // no node
		{Service: registry.ServiceEdge, Node: "a/b"}, // slash in node
		{Node: "n"}, // no service
		{Service: registry.ServiceEdge, Node: "n", Weight: -1}, // negative weight
	} {
		if err := r.Register(context.Background(), inst); err == nil {
			t.Errorf("Register(%+v) succeeded", inst)
		}
	}
}

// TestWatchSeesAddUpdateRemove: a watch sees a node added, updated and
// removed, only its own service and env, and skips malformed values.
func TestWatchSeesAddUpdateRemove(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	cli := newClient(t, cfg)
	d := NewDiscovery(cli, cfg, nil)
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	pre := NewRegistrar(cli, cfg, nil)
	if err := pre.Register(ctx, edgeInstance("edge-0")); err != nil {
		t.Fatal(err)
	}
	rec := newViewRecorder()
	if err := d.Watch(ctx, registry.ServiceEdge, rec.fn); err != nil {
		t.Fatal(err)
	}
	if got := nodeNames(rec.views[0]); len(got) != 1 || got[0] != "edge-0" {
		t.Fatalf("first view %v", got)
	}

	r := NewRegistrar(cli, cfg, nil)
	if err := r.Register(ctx, edgeInstance("edge-1")); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "add", viewWait, has("edge-1"))
	if got := nodeNames(d.Instances(registry.ServiceEdge)); len(got) != 2 {
		t.Fatalf("Instances = %v", got)
	}
	inst := edgeInstance("edge-1")
	inst.Conns = 7
	if err := r.Update(ctx, inst); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "update", viewWait, func(l []registry.Instance) bool {
		return len(l) == 2 && l[1].Conns == 7
	})
	if err := r.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "remove", viewWait, not(has("edge-1")))

	// Another service's keys do not show up, nor do other envs'.
	logic := registry.Instance{Service: registry.ServiceLogic, Node: "logic-1"}
	if err := NewRegistrar(cli, cfg, nil).Register(ctx, logic); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/prod/goim.edge/sh/edge-9", `{"node":"edge-9"}`); err != nil {
		t.Fatal(err)
	}
	if got := nodeNames(d.Instances(registry.ServiceLogic)); len(got) != 1 || got[0] != "logic-1" {
		t.Fatalf("logic instances %v", got)
	}
	if got := nodeNames(d.Instances(registry.ServiceEdge)); len(got) != 1 || got[0] != "edge-0" {
		t.Fatalf("edge instances %v", got)
	}

	// A malformed value is ignored, and a later good value is picked up.
	if _, err := cli.Put(ctx, "/test/goim.edge/sh/bad", "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/test/goim.edge/sh/good", `{"node":"wrong-name","weight":3}`); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "good value", viewWait, has("good"))
	for _, in := range d.Instances(registry.ServiceEdge) {
		if in.Node == "bad" || in.Node == "wrong-name" {
			t.Fatalf("bad value listed: %+v", in)
		}
	}
}

// BenchmarkWatchLatency reports how long a registration, an update and a
// deregistration take to reach a watch on a local etcd, from the start of
// the registry write to the view:
// go test -run '^$' -bench WatchLatency ./registry/etcdreg/
func BenchmarkWatchLatency(b *testing.B) {
	etcd := testenv.Etcd(b)
	cfg := testConfig(etcd.Addr)
	cli := newClient(b, cfg)
	d := NewDiscovery(cli, cfg, nil)
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := newViewRecorder()
	if err := d.Watch(ctx, registry.ServiceEdge, rec.fn); err != nil {
		b.Fatal(err)
	}
	var add, upd, del time.Duration
	b.ResetTimer()
	for i := range b.N {
		node := fmt.Sprint("edge-", i)
		inst := edgeInstance(node)
		r := NewRegistrar(cli, cfg, nil)
		start := time.Now()
		if err := r.Register(ctx, inst); err != nil {
			b.Fatal(err)
		}
		rec.waitFor(b, "add", viewWait, has(node))
		add += time.Since(start)
		inst.Conns = i + 1
		start = time.Now()
		if err := r.Update(ctx, inst); err != nil {
			b.Fatal(err)
		}
		rec.waitFor(b, "update", viewWait, func(l []registry.Instance) bool {
			return len(l) == 1 && l[0].Conns == i+1
		})
		upd += time.Since(start)
		start = time.Now()
		if err := r.Deregister(ctx); err != nil {
			b.Fatal(err)
		}
		rec.waitFor(b, "remove", viewWait, not(has(node)))
		del += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(add.Microseconds())/n, "add-us")
	b.ReportMetric(float64(upd.Microseconds())/n, "update-us")
	b.ReportMetric(float64(del.Microseconds())/n, "remove-us")
}

func TestWatchRegion(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	cli := newClient(t, cfg)
	ctx := testCtx(t)
	for _, region := range []string{"sh", "bj"} {
		c := cfg
		c.Region = region
		if err := NewRegistrar(cli, c, nil).Register(ctx, edgeInstance("edge-"+region)); err != nil {
			t.Fatal(err)
		}
	}
	all := NewDiscovery(cli, cfg, nil)
	defer all.Close()
	if got := nodeNames(all.Instances(registry.ServiceEdge)); len(got) != 2 {
		t.Fatalf("all regions: %v", got)
	}
	bj := cfg
	bj.WatchRegion = "bj"
	one := NewDiscovery(cli, bj, nil)
	defer one.Close()
	if got := nodeNames(one.Instances(registry.ServiceEdge)); len(got) != 1 || got[0] != "edge-bj" {
		t.Fatalf("region bj: %v", got)
	}
}

func TestLeaseExpiresAfterNodeKilled(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	cli := newClient(t, cfg)
	d := NewDiscovery(cli, cfg, nil)
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := newViewRecorder()
	if err := d.Watch(ctx, registry.ServiceEdge, rec.fn); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envChildEtcd+"="+etcd.Addr, envChildNode+"=edge-doomed")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "registered" {
		t.Fatalf("child registrar: %q %v", line, err)
	}
	rec.waitFor(t, "child registered", viewWait, has("edge-doomed"))

	// Wait past one TTL so expiry can only come from the missing keepalive.
	time.Sleep(cfg.TTL + 500*time.Millisecond)
	if !has("edge-doomed")(d.Instances(registry.ServiceEdge)) {
		t.Fatal("live child's key expired")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	gone := rec.waitFor(t, "killed node's key expiry", expiryWait, not(has("edge-doomed")))
	t.Logf("key of SIGKILLed node gone after %v (TTL %v)", gone, cfg.TTL)
}

func TestReregisterAfterEtcdRestart(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	cli := newClient(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := NewDiscovery(cli, cfg, nil)
	defer d.Close()
	rec := newViewRecorder()
	if err := d.Watch(ctx, registry.ServiceEdge, rec.fn); err != nil {
		t.Fatal(err)
	}

	r := NewRegistrar(cli, cfg, nil)
	inst := edgeInstance("edge-1")
	if err := r.Register(ctx, inst); err != nil {
		t.Fatal(err)
	}
	key := inst
	key.Env, key.Region = cfg.Env, cfg.Region
	oldLease := r.Lease()
	rec.waitFor(t, "registered", viewWait, has("edge-1"))

	etcd.Kill()
	// Past the TTL the client gives the lease up and the registrar starts
	// retrying; an Update meanwhile is kept for the re-registration.
	lost := time.Now()
	for deadline := lost.Add(expiryWait); r.Lease() != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("registrar still claims lease %x %v after etcd went down (TTL %v)", r.Lease(), expiryWait, cfg.TTL)
		}
	}
	t.Logf("lease given up %v after etcd went down (TTL %v)", time.Since(lost), cfg.TTL)
	if err := r.CheckRegistration(ctx); !errors.Is(err, registry.ErrNotRegistered) {
		t.Fatalf("CheckRegistration with the lease lost = %v, want ErrNotRegistered", err)
	}
	inst.Conns = 99
	if err := r.Update(ctx, inst); !errors.Is(err, registry.ErrRetrying) {
		t.Fatalf("update with etcd down: %v, want ErrRetrying", err)
	}
	down := time.Now()
	if err := etcd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("etcd back after %v", time.Since(down))
	back := time.Now()
	deadline := time.Now().Add(expiryWait)
	for r.Lease() == 0 || r.Lease() == oldLease {
		if time.Now().After(deadline) {
			t.Fatal("registrar did not register again after etcd restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("re-registered %v after etcd restart", time.Since(back))
	if err := r.CheckRegistration(ctx); err != nil {
		t.Fatalf("CheckRegistration after re-registering = %v", err)
	}

	// The key now rides the new lease and outlives the old one (which etcd
	// restored with a fresh TTL on restart and nobody keeps alive, unless
	// re-registration revoked it).
	for deadline := time.Now().Add(expiryWait); ; time.Sleep(50 * time.Millisecond) {
		ttl, err := cli.TimeToLive(ctx, oldLease)
		if err == nil && ttl.TTL == -1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old lease %x still alive %v after re-registering: %+v, %v", oldLease, expiryWait, ttl, err)
		}
	}
	got, lease, ok := get(t, cli, key.Key())
	if !ok {
		t.Fatal("key gone after etcd restart")
	}
	if clientv3.LeaseID(lease) != r.Lease() || got.Conns != 99 {
		t.Fatalf("key lease %x (registrar %x), conns %d (want the update made during the outage, 99)", lease, r.Lease(), got.Conns)
	}
	// Discovery followed through the outage.
	rec.waitFor(t, "discovery after restart", viewWait, func(l []registry.Instance) bool {
		return len(l) == 1 && l[0].Conns == 99
	})
	// The node never dropped out of view: during the outage discovery kept
	// its last view, and re-registration moved the key to the new lease
	// before revoking the old one.
	rec.mu.Lock()
	seen := false
	for i, v := range rec.views {
		if has("edge-1")(v) {
			seen = true
		} else if seen {
			t.Errorf("view %d of %d lacks edge-1: %v", i, len(rec.views), nodeNames(v))
		}
	}
	rec.mu.Unlock()
	if err := r.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "deregister after restart", viewWait, not(has("edge-1")))
}

func TestRegisterWhileEtcdDown(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	cli := newClient(t, cfg)
	etcd.Kill()
	r := NewRegistrar(cli, cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := r.Register(ctx, edgeInstance("edge-late"))
	if !errors.Is(err, registry.ErrRetrying) {
		t.Fatalf("Register with etcd down: %v, want ErrRetrying", err)
	}
	if err := etcd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.Lease() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not registered after etcd came up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, _, ok := get(t, cli, "/test/goim.edge/sh/edge-late"); !ok {
		t.Fatal("key missing")
	}
	if err := r.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCompactionRelists(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	cli := newClient(t, cfg)
	ctx := testCtx(t)
	put := func(node string) {
		t.Helper()
		v, _ := json.Marshal(registry.Instance{Node: node, Weight: 1})
		if _, err := cli.Put(ctx, "/test/goim.edge/sh/"+node, string(v)); err != nil {
			t.Fatal(err)
		}
	}
	put("a")
	put("b")

	d := NewDiscovery(cli, cfg, nil)
	defer d.Close()
	var once sync.Once
	compacted := make(chan int64, 1)
	// Between the first list and its watch: change the prefix and compact
	// past the revision the watch will ask for, as happens when a watcher
	// falls behind during an outage.
	d.afterList = func(_ string, rev int64) {
		once.Do(func() {
			put("c")
			if _, err := cli.Delete(ctx, "/test/goim.edge/sh/a"); err != nil {
				t.Error(err)
			}
			resp, err := cli.Get(ctx, "/")
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
				t.Error(err)
			}
			compacted <- rev
		})
	}
	relists := counterValue(t, metricRelists.WithLabelValues(registry.ServiceEdge, "compacted"))
	rec := newViewRecorder()
	if err := d.Watch(ctx, registry.ServiceEdge, rec.fn); err != nil {
		t.Fatal(err)
	}
	<-compacted
	took := rec.waitFor(t, "re-list after compaction", viewWait, func(l []registry.Instance) bool {
		n := nodeNames(l)
		return len(n) == 2 && n[0] == "b" && n[1] == "c"
	})
	t.Logf("re-listed %v after compaction", took)
	if n := counterValue(t, metricRelists.WithLabelValues(registry.ServiceEdge, "compacted")) - relists; n != 1 {
		t.Fatalf("compaction re-lists = %v, want 1", n)
	}
	// And the re-established watch keeps working.
	put("d")
	rec.waitFor(t, "watch after re-list", viewWait, has("d"))
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// testCtx ends when the test does, before its etcd is stopped, so the
// registrars a test leaves behind stop instead of retrying against a
// dead etcd.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

func TestOpen(t *testing.T) {
	etcd := testenv.Etcd(t)
	reg, err := Open(testConfig(etcd.Addr), nil)
	if err != nil {
		t.Fatal(err)
	}
	var _ registry.Discovery = reg
	r := reg.NewRegistrar()
	ctx := testCtx(t)
	if err := r.Register(ctx, edgeInstance("edge-1")); err != nil {
		t.Fatal(err)
	}
	if got := nodeNames(reg.Instances(registry.ServiceEdge)); len(got) != 1 || got[0] != "edge-1" {
		t.Fatalf("instances %v", got)
	}
	if err := r.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reg.Watch(ctx, registry.ServiceEdge, func([]registry.Instance) {}); err == nil {
		t.Fatal("Watch after Close succeeded")
	}
	if _, err := Open(Config{}, nil); err == nil {
		t.Fatal("Open without endpoints succeeded")
	}
}
