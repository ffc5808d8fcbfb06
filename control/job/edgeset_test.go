package job

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/etcdreg"
)

// tally compares what was sent with what an edge received: delivered
// (distinct ids received), lost (sent, never received) and duplicated
// (received more than once).
type tally struct {
	sent, delivered, lost, duplicated int
}

func count(sent []string, received []string) tally {
	seen := map[string]int{}
	for _, id := range received {
		seen[id]++
	}
	tl := tally{sent: len(sent)}
	for _, id := range sent {
		switch n := seen[id]; {
		case n == 0:
			tl.lost++
		default:
			tl.delivered++
			tl.duplicated += n - 1
		}
	}
	return tl
}

func (tl tally) String() string {
	return fmt.Sprintf("sent %d, delivered %d, lost %d, duplicated %d", tl.sent, tl.delivered, tl.lost, tl.duplicated)
}

// An edge whose registration lapsed (every lease expired at once during
// an etcd stall: both edges removed, then back a moment later) is still a
// target in the gap, so nothing addressed to it is dropped; job keeps its
// client.
func TestLapsedRegistrationKeepsReceiving(t *testing.T) {
	a, b := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-b")
	cfg := testConfig()
	cfg.EdgeGrace = time.Hour // the test never waits it out
	h := startJob(t, cfg, a, b)
	before := h.conn("edge-a")
	lost := value(lostTotal.WithLabelValues("keys", resultUnknownEdge))
	noTarget := counter("room", resultNoTarget)

	var keys, rooms []string
	send := func(tag string, n int) {
		for i := range n {
			k, r := fmt.Sprintf("%s-k%d", tag, i), fmt.Sprintf("%s-r%d", tag, i)
			keys, rooms = append(keys, k), append(rooms, r)
			h.publish(keysMsg(k, "edge-a", "dev1"), roomMsg(r, "live://1"))
		}
	}
	send("before", 10)
	h.reg.Remove(a.instance())
	h.reg.Remove(b.instance())
	eventually(t, "both edges leaving", func() bool { return value(edgesLeaving) == 2 })
	send("gap", 10)
	if err := h.reg.Add(a.instance()); err != nil {
		t.Fatal(err)
	}
	if err := h.reg.Add(b.instance()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both edges back", func() bool { return value(edgesLeaving) == 0 })
	send("after", 10)

	a.waitFor("every keys push", func() bool { return len(a.keyMsgIDs()) >= len(keys) })
	for _, e := range []*recEdge{a, b} {
		e.waitFor("every room push", func() bool { return len(e.roomMsgIDs()) >= len(rooms) })
		if tl := count(rooms, e.roomMsgIDs()); tl.lost != 0 || tl.duplicated != 0 {
			t.Errorf("%s room pushes: %v", e.node, tl)
		}
	}
	if tl := count(keys, a.keyMsgIDs()); tl.lost != 0 || tl.duplicated != 0 {
		t.Errorf("edge-a keys pushes: %v", tl)
	} else {
		t.Logf("edge-a keys pushes: %v", tl)
	}
	if n := value(lostTotal.WithLabelValues("keys", resultUnknownEdge)) - lost; n != 0 {
		t.Errorf("%v keys pushes counted lost", n)
	}
	if n := counter("room", resultNoTarget) - noTarget; n != 0 {
		t.Errorf("%v room pushes found no target", n)
	}
	if h.conn("edge-a") != before {
		t.Error("job replaced the client of an edge that came back on the same address")
	}
}

// An edge that stays out of the registry past its grace is removed; keys
// pushes for it are then counted lost at once, not held.
func TestEdgeRemovedAfterGrace(t *testing.T) {
	a, b := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-b")
	cfg := testConfig()
	cfg.EdgeGrace = 50 * time.Millisecond
	h := startJob(t, cfg, a, b)
	h.conn("edge-a")
	h.reg.Remove(a.instance())
	eventually(t, "edge-a removed after its grace", func() bool { return value(edgesGauge) == 1 && value(edgesLeaving) == 0 })
	lost := value(lostTotal.WithLabelValues("keys", resultUnknownEdge))
	h.publish(keysMsg("k1", "edge-a", "dev1"), roomMsg("r1", "live://1"))
	b.waitFor("r1 on the remaining edge", func() bool { return len(b.roomMsgIDs()) == 1 })
	eventually(t, "keys push for the removed edge counted lost", func() bool {
		return value(lostTotal.WithLabelValues("keys", resultUnknownEdge)) == lost+1
	})
	if ids := a.roomMsgIDs(); len(ids) != 0 || len(a.keyMsgIDs()) != 0 {
		t.Errorf("removed edge got %v %v", ids, a.keyMsgIDs())
	}
}

// A keys push for an edge job has not seen yet (it registers just after
// job started) waits for it within the grace instead of being dropped.
func TestKeysPushWaitsForEdgeWithinGrace(t *testing.T) {
	a, late := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-late")
	cfg := testConfig()
	cfg.EdgeGrace = time.Hour
	h := startJob(t, cfg, a)
	lost := value(lostTotal.WithLabelValues("keys", resultUnknownEdge))
	h.publish(keysMsg("k1", "edge-late", "dev1"))
	eventually(t, "keys push taken by job", func() bool { return h.q.Len() == 0 })
	if err := h.reg.Add(late.instance()); err != nil {
		t.Fatal(err)
	}
	late.waitFor("k1 once the edge registered", func() bool { return len(late.keyMsgIDs()) == 1 })
	if n := value(lostTotal.WithLabelValues("keys", resultUnknownEdge)) - lost; n != 0 {
		t.Errorf("%v keys pushes counted lost", n)
	}
}

// A draining edge still holds devices until its last one has gone: it
// stays a target of every kind of push.
func TestDrainingEdgeStaysTarget(t *testing.T) {
	a, d := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-draining")
	h := startJob(t, testConfig(), a, d)
	inst := d.instance()
	inst.Draining = true
	if err := h.reg.Update(inst); err != nil {
		t.Fatal(err)
	}
	h.publish(keysMsg("k1", "edge-draining", "dev1"), roomMsg("r1", "live://1"), broadcastMsg("b1", 0))
	d.waitFor("keys push", func() bool { return len(d.keyMsgIDs()) == 1 })
	d.waitFor("room push", func() bool { return len(d.roomMsgIDs()) == 1 })
	d.waitFor("broadcast", func() bool { return len(d.broadcasts()) == 1 })
	a.waitFor("room push", func() bool { return len(a.roomMsgIDs()) == 1 })
}

// etcdEdge registers e in etcd under a lease kept alive by a real
// registrar, until the test ends.
func etcdEdge(t *testing.T, cfg etcdreg.Config, e *recEdge) *etcdreg.Registrar {
	t.Helper()
	cli, err := etcdreg.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	r := etcdreg.NewRegistrar(cli, cfg, nil)
	inst := e.instance()
	inst.Env, inst.Region = cfg.Env, cfg.Region
	if err := r.Register(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Deregister(context.Background()) })
	return r
}

func etcdConfig(addr string) etcdreg.Config {
	cfg := etcdreg.DefaultConfig()
	cfg.Endpoints = []string{addr}
	cfg.Env = "test"
	cfg.TTL = 2 * time.Second
	cfg.DialTimeout = time.Second
	return cfg
}

func etcdDiscovery(t *testing.T, cfg etcdreg.Config) *etcdreg.Discovery {
	t.Helper()
	cli, err := etcdreg.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := etcdreg.NewDiscovery(cli, cfg, nil)
	t.Cleanup(func() {
		d.Close()
		cli.Close()
	})
	return d
}

// A job that starts while etcd is unreachable does not consume: with an
// empty view it would acknowledge the backlog's room pushes to nobody.
// Once etcd answers, it learns the edges and delivers the whole backlog.
func TestNoConsumingBeforeEdgesKnown(t *testing.T) {
	etcd := testenv.Etcd(t)
	ecfg := etcdConfig(etcd.Addr)
	a := startRecEdge(t, "edge-a")
	etcdEdge(t, ecfg, a)
	etcd.Kill()

	cfg := testConfig()
	cfg.EdgeGrace = time.Hour
	h := startJobOn(t, cfg, etcdDiscovery(t, ecfg))
	noTarget := counter("room", resultNoTarget)
	var rooms, keys []string
	for i := range 20 {
		r, k := fmt.Sprintf("r%d", i), fmt.Sprintf("k%d", i)
		rooms, keys = append(rooms, r), append(keys, k)
		h.publish(roomMsg(r, "live://1"), keysMsg(k, "edge-a", "dev1"))
	}
	eventually(t, "job waiting for the edges", func() bool { return h.job.state.Load() == stateWaitingForEdges })
	if n := h.q.Len(); n != 40 {
		t.Fatalf("queue holds %d messages while job waits for the edges, want all 40", n)
	}
	if err := etcd.Start(); err != nil {
		t.Fatal(err)
	}
	a.waitFor("the backlog", func() bool { return len(a.roomMsgIDs()) >= 20 && len(a.keyMsgIDs()) >= 20 })
	rt, kt := count(rooms, a.roomMsgIDs()), count(keys, a.keyMsgIDs())
	if rt.lost != 0 || rt.duplicated != 0 || kt.lost != 0 || kt.duplicated != 0 {
		t.Errorf("rooms: %v; keys: %v", rt, kt)
	}
	t.Logf("rooms: %v; keys: %v", rt, kt)
	if n := counter("room", resultNoTarget) - noTarget; n != 0 {
		t.Errorf("%v room pushes acknowledged with no target", n)
	}
}

// Every lease lapses at once (as when etcd stalls past the TTL): both
// edges' keys vanish and their registrars register them again. Pushes
// sent through the gap all arrive, exactly once.
func TestLeasesLapseNothingDropped(t *testing.T) {
	etcd := testenv.Etcd(t)
	ecfg := etcdConfig(etcd.Addr)
	a, b := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-b")
	ra, rb := etcdEdge(t, ecfg, a), etcdEdge(t, ecfg, b)
	cfg := testConfig()
	cfg.EdgeGrace = time.Hour
	disc := etcdDiscovery(t, ecfg)
	h := startJobOn(t, cfg, disc)
	h.conn("edge-a")
	h.conn("edge-b")
	// gaps counts the views that lacked an edge: proof the lapse was seen.
	var gaps atomic.Int32
	if err := disc.Watch(t.Context(), registry.ServiceEdge, func(l []registry.Instance) {
		if len(l) < 2 {
			gaps.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	admin, err := etcdreg.NewClient(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	stop := make(chan struct{})
	sentc := make(chan []string)
	go func() {
		var sent []string
		defer func() { sentc <- sent }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("k%d", i)
			node := []string{"edge-a", "edge-b"}[i%2]
			sent = append(sent, id)
			h.publish(&common.PushMsg{Id: id, Kind: common.PushKind_KEYS, Op: 1000, Server: node, Keys: []string{"dev"}, Body: []byte(id)})
			time.Sleep(time.Millisecond)
		}
	}()
	leaseA, leaseB := ra.Lease(), rb.Lease()
	for _, l := range []clientv3.LeaseID{leaseA, leaseB} {
		if _, err := admin.Revoke(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "discovery shows the edges gone", func() bool { return gaps.Load() > 0 })
	eventually(t, "both edges registered again", func() bool {
		return ra.Lease() != 0 && ra.Lease() != leaseA && rb.Lease() != 0 && rb.Lease() != leaseB
	})
	eventually(t, "job sees both again", func() bool {
		return value(edgesLeaving) == 0 && len(disc.Instances(registry.ServiceEdge)) == 2
	})
	close(stop)
	sent := <-sentc
	var gotA, gotB []string
	eventually(t, "every push delivered", func() bool {
		gotA, gotB = a.keyMsgIDs(), b.keyMsgIDs()
		return len(gotA)+len(gotB) >= len(sent)
	})
	tl := count(sent, append(gotA, gotB...))
	if tl.lost != 0 || tl.duplicated != 0 {
		t.Errorf("through the lapse: %v", tl)
	}
	t.Logf("through the lapse: %v", tl)
	if gaps.Load() == 0 {
		t.Error("discovery never showed the edges gone: the lapse was not exercised")
	}
}
