package static

import (
	"context"
	"sync"
	"testing"

	"github.com/goim-edge/goim-edge/registry"
)

func edge(node string, conns int) registry.Instance {
	return registry.Instance{Env: "test", Service: registry.ServiceEdge, Region: "sh", Node: node,
		Addrs: registry.Addrs{RPC: "127.0.0.1:3109"}, Weight: 10, Conns: conns}
}

func nodes(list []registry.Instance) []string {
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = in.Node
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewAndInstances(t *testing.T) {
	logic := registry.Instance{Env: "test", Service: registry.ServiceLogic, Region: "sh", Node: "l1"}
	r := New(edge("b", 0), edge("a", 0), logic, registry.Instance{Node: "no-service"}, edge("a", 5))
	got := r.Instances(registry.ServiceEdge)
	if !equal(nodes(got), []string{"a", "b"}) {
		t.Fatalf("edges = %v, want [a b]", nodes(got))
	}
	if got[0].Conns != 5 {
		t.Fatalf("later duplicate should win: conns = %d", got[0].Conns)
	}
	if n := len(r.Instances(registry.ServiceLogic)); n != 1 {
		t.Fatalf("logic instances = %d", n)
	}
	if n := len(r.Instances("unknown")); n != 0 {
		t.Fatalf("unknown service has %d instances", n)
	}
}

func TestWatchSeesChangesAtOnce(t *testing.T) {
	r := New(edge("a", 0))
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var views [][]registry.Instance
	last := func() []registry.Instance {
		mu.Lock()
		defer mu.Unlock()
		return views[len(views)-1]
	}
	if err := r.Watch(ctx, registry.ServiceEdge, func(l []registry.Instance) {
		mu.Lock()
		views = append(views, l)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if !equal(nodes(last()), []string{"a"}) {
		t.Fatalf("first view %v", nodes(last()))
	}
	if err := r.Add(edge("b", 0)); err != nil {
		t.Fatal(err)
	}
	if !equal(nodes(last()), []string{"a", "b"}) {
		t.Fatalf("after add %v", nodes(last()))
	}
	if err := r.Update(edge("b", 42)); err != nil {
		t.Fatal(err)
	}
	if l := last(); l[1].Conns != 42 {
		t.Fatalf("after update conns=%d", l[1].Conns)
	}
	if err := r.Update(edge("zz", 1)); err == nil {
		t.Fatal("update of unknown node succeeded")
	}
	if !r.Remove(edge("a", 0)) {
		t.Fatal("remove a: not found")
	}
	if r.Remove(edge("a", 0)) {
		t.Fatal("second remove found a")
	}
	if !equal(nodes(last()), []string{"b"}) {
		t.Fatalf("after remove %v", nodes(last()))
	}
	// Other services' changes do not wake this watcher.
	mu.Lock()
	n := len(views)
	mu.Unlock()
	_ = r.Add(registry.Instance{Env: "test", Service: registry.ServiceLogic, Region: "sh", Node: "l"})
	cancel()
	_ = r.Add(edge("c", 0))
	mu.Lock()
	defer mu.Unlock()
	if len(views) != n {
		t.Fatalf("watcher called %d more times after other-service change / cancel", len(views)-n)
	}
}

func TestWatchConcurrentChangesArriveInOrder(t *testing.T) {
	r := New()
	var mu sync.Mutex
	lastLen := -1
	if err := r.Watch(context.Background(), registry.ServiceEdge, func(l []registry.Instance) {
		mu.Lock()
		defer mu.Unlock()
		// Nodes are only added, so views must never shrink.
		if len(l) < lastLen {
			t.Errorf("view went back from %d to %d nodes", lastLen, len(l))
		}
		lastLen = len(l)
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.Add(edge(string(rune('A'+i)), 0))
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if lastLen != 50 {
		t.Fatalf("final view has %d nodes, want 50", lastLen)
	}
}

func TestRegistrar(t *testing.T) {
	r := New()
	g := r.Registrar()
	ctx := context.Background()
	if err := g.Update(ctx, edge("a", 1)); err == nil {
		t.Fatal("update before register succeeded")
	}
	if err := g.Register(ctx, edge("a", 0)); err != nil {
		t.Fatal(err)
	}
	if err := g.Update(ctx, edge("a", 7)); err != nil {
		t.Fatal(err)
	}
	if got := r.Instances(registry.ServiceEdge); len(got) != 1 || got[0].Conns != 7 {
		t.Fatalf("after update: %+v", got)
	}
	if err := g.Update(ctx, edge("b", 7)); err == nil {
		t.Fatal("update of another key succeeded")
	}
	if err := g.Register(ctx, edge("b", 0)); err != nil {
		t.Fatal(err)
	}
	if got := nodes(r.Instances(registry.ServiceEdge)); !equal(got, []string{"b"}) {
		t.Fatalf("re-register under new key left %v", got)
	}
	if err := g.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.Instances(registry.ServiceEdge); len(got) != 0 {
		t.Fatalf("after deregister: %v", nodes(got))
	}
	if err := g.Deregister(ctx); err != nil {
		t.Fatalf("second deregister: %v", err)
	}
}
