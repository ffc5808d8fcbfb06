package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

// testConfig is DefaultConfig with deadlines short enough for tests.
func testConfig() Config {
	c := DefaultConfig()
	c.RPCTimeout = 200 * time.Millisecond
	c.RetryBackoff = 5 * time.Millisecond
	c.MaxRetryBackoff = 20 * time.Millisecond
	c.BreakerFailures = 3
	c.ProbeInterval = 100 * time.Millisecond
	c.MaxInflightPerEdge = 4
	c.EdgeQueue = 256
	c.EdgeGrace = 200 * time.Millisecond
	return c
}

type harness struct {
	t   testing.TB
	q   *memory.Queue
	reg *static.Registry
	job *Job
}

// startJob runs a job over a memory queue and a static registry holding
// edges, until the test ends.
func startJob(t *testing.T, cfg Config, edges ...*recEdge) *harness {
	t.Helper()
	return startJobTB(t, cfg, edges...)
}

func startJobTB(t testing.TB, cfg Config, edges ...*recEdge) *harness {
	t.Helper()
	reg := static.New()
	for _, e := range edges {
		if err := reg.Add(e.instance()); err != nil {
			t.Fatal(err)
		}
	}
	h := startJobOn(t, cfg, reg)
	h.reg = reg
	return h
}

// startJobOn runs a job over a memory queue and disc until the test ends.
func startJobOn(t testing.TB, cfg Config, disc registry.Discovery) *harness {
	t.Helper()
	q := memory.New(memory.Config{Size: 10000, DeliveryConfig: queue.DeliveryConfig{
		MaxAttempts: 3, RetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 50 * time.Millisecond, Workers: 8,
	}})
	j, err := New(cfg, q, disc)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- j.Run(context.Background()) }()
	t.Cleanup(func() {
		if err := j.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
		q.Close()
	})
	return &harness{t: t, q: q, job: j}
}

func (h *harness) publish(msgs ...*common.PushMsg) {
	h.t.Helper()
	for _, m := range msgs {
		m.EnqueuedUnixNano = time.Now().UnixNano()
		if err := h.q.Publish(context.Background(), m); err != nil {
			h.t.Fatal(err)
		}
	}
}

func keysMsg(id, server string, keys ...string) *common.PushMsg {
	return &common.PushMsg{Id: id, Kind: common.PushKind_KEYS, Op: 1000, Server: server, Keys: keys, Body: []byte("body-" + id)}
}

func roomMsg(id, room string) *common.PushMsg {
	return &common.PushMsg{Id: id, Kind: common.PushKind_ROOM, Op: 1001, Room: room, Body: []byte("body-" + id)}
}

func broadcastMsg(id string, speed int32) *common.PushMsg {
	return &common.PushMsg{Id: id, Kind: common.PushKind_BROADCAST, Op: 1002, Speed: speed, Body: []byte("body-" + id)}
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		panic(err)
	}
	if out.Counter != nil {
		return out.Counter.GetValue()
	}
	return out.Gauge.GetValue()
}

func counter(kind, result string) float64 {
	return value(pushesTotal.WithLabelValues(kind, result))
}

func TestFanOutByKind(t *testing.T) {
	a, b := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-b")
	h := startJob(t, testConfig(), a, b)
	unknown := counter("keys", resultUnknownEdge)
	poison := counter("room", resultPoison)

	h.publish(
		keysMsg("k1", "edge-a", "dev1", "dev2"),
		keysMsg("k2", "edge-gone", "dev9"),
		roomMsg("r1", "live://1000"),
		broadcastMsg("b1", 100),
		roomMsg("bad", ""),
	)

	a.waitFor("keys k1", func() bool { return len(a.keyMsgIDs()) == 1 })
	a.mu.Lock()
	got := a.keys[0]
	a.mu.Unlock()
	if !slices.Equal(got.Keys, []string{"dev1", "dev2"}) || got.Op != 1000 || string(got.Body) != "body-k1" || got.MsgId != "k1" {
		t.Errorf("edge-a PushKeys = %+v", got)
	}
	for _, e := range []*recEdge{a, b} {
		e.waitFor("room r1", func() bool { return slices.Equal(e.roomMsgIDs(), []string{"r1"}) })
		e.mu.Lock()
		r := e.rooms[0]
		e.mu.Unlock()
		if r.Room != "live://1000" || r.Msgs[0].Op != 1001 || string(r.Msgs[0].Body) != "body-r1" {
			t.Errorf("%s PushRoom = %+v", e.node, r)
		}
		e.waitFor("broadcast b1", func() bool { return len(e.broadcasts()) == 1 })
		bc := e.broadcasts()[0]
		// speed 100 across two edges: 50 each.
		if bc.Speed != 50 || bc.Op != 1002 || bc.MsgId != "b1" || string(bc.Body) != "body-b1" {
			t.Errorf("%s Broadcast = %+v", e.node, bc)
		}
	}
	eventually(t, "unknown-edge drop counted", func() bool { return counter("keys", resultUnknownEdge) == unknown+1 })
	eventually(t, "poison counted", func() bool { return counter("room", resultPoison) == poison+1 })
	eventually(t, "poison moved aside", func() bool { return h.q.DeadCount() == 1 })
	if dead := h.q.Dead(); dead[0].Msg.Id != "bad" {
		t.Errorf("dead letter = %s, want bad", dead[0].Msg.Id)
	}
	if ids := b.keyMsgIDs(); len(ids) != 0 {
		t.Errorf("edge-b got keys pushes %v meant for edge-a or a gone edge", ids)
	}
}

func TestPoisonMessages(t *testing.T) {
	j, err := New(testConfig(), memory.New(memory.Config{}), static.New())
	if err != nil {
		t.Fatal(err)
	}
	j.edges = newEdgeSet(context.Background(), j.cfg, j.log)
	for _, tc := range []struct {
		name string
		msg  *common.PushMsg
	}{
		{"nil message", nil},
		{"keys without server", keysMsg("k", "", "dev")},
		{"keys without keys", keysMsg("k", "edge-a")},
		{"room without room", roomMsg("r", "")},
		{"unknown kind", &common.PushMsg{Id: "x", Kind: 42}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := j.handle(context.Background(), &queue.Delivery{Msg: tc.msg, ID: "1", Attempt: 1})
			if !errors.Is(err, queue.ErrPoison) {
				t.Errorf("handle = %v, want ErrPoison", err)
			}
		})
	}
}

func TestNoEdgesIsNotACrash(t *testing.T) {
	h := startJob(t, testConfig())
	before := counter("broadcast", resultNoTarget)
	beforeRoom := counter("room", resultNoTarget)
	h.publish(broadcastMsg("b", 1000), roomMsg("r", "live://1"))
	eventually(t, "broadcast to zero edges acknowledged", func() bool {
		return counter("broadcast", resultNoTarget) == before+1 && counter("room", resultNoTarget) == beforeRoom+1
	})
}

func TestEdgeSpeed(t *testing.T) {
	for _, tc := range []struct {
		speed int32
		edges int
		want  int32
	}{
		{0, 3, 0},     // no limit stays no limit
		{100, 0, 0},   // zero edges: nothing to divide, no panic
		{100, 1, 100}, // one edge takes it all
		{100, 2, 50},
		{100, 3, 33},
		{2, 5, 1}, // never rounds down to "no limit"
		{-5, 2, 0},
	} {
		if got := edgeSpeed(tc.speed, tc.edges); got != tc.want {
			t.Errorf("edgeSpeed(%d, %d) = %d, want %d", tc.speed, tc.edges, got, tc.want)
		}
	}
}

// A hung edge must not hold up delivery to the others: its messages are
// parked in its outbox (the handlers stop waiting on it after the first
// failed attempt), and with the edge down for longer than edge_grace they
// are counted lost, not silently dropped.
func TestHungEdgeDoesNotBlockOthers(t *testing.T) {
	good, hung := startRecEdge(t, "edge-good"), startRecEdge(t, "edge-hung")
	hung.setHang()
	cfg := testConfig()
	cfg.RPCTimeout = 100 * time.Millisecond
	cfg.ProbeInterval = time.Hour // no trial during the test
	h := startJob(t, cfg, good, hung)
	parkedBefore := counter("room", resultParked)
	lostBefore := value(lostTotal.WithLabelValues("room", lostEdgeDown))

	const n = 200
	var want []string
	for i := range n {
		id := fmt.Sprintf("r%d", i)
		want = append(want, id)
		h.publish(roomMsg(id, "live://1"), keysMsg(fmt.Sprintf("k%d", i), "edge-good", "dev1"))
	}
	good.waitFor("every room message, in order", func() bool { return len(firstArrivals(good.roomMsgIDs())) == n })
	if got := firstArrivals(good.roomMsgIDs()); !slices.Equal(got, want) {
		t.Errorf("good edge room messages out of order: %v", got)
	}
	good.waitFor("every keys message", func() bool { return len(firstArrivals(good.keyMsgIDs())) == n })
	eventually(t, "every room message acknowledged, parked for the hung edge", func() bool {
		return counter("room", resultParked)-parkedBefore == n
	})
	eventually(t, "every parked message counted lost after edge_grace", func() bool {
		return value(lostTotal.WithLabelValues("room", lostEdgeDown))-lostBefore == n
	})
}

// An edge that fails a few calls is retried; one that is down for a
// while (connection refused) gets what was parked for it once it is
// back, in order, and nothing is lost.
func TestEdgeFailsThenRecovers(t *testing.T) {
	a, b := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-b")
	cfg := testConfig()
	cfg.Retries = 2
	cfg.EdgeGrace = time.Minute
	h := startJob(t, cfg, a, b)

	// Two failures, then success: the retries deliver it.
	a.failPush.Store(2)
	retriesBefore := value(edgeRetries)
	h.publish(keysMsg("k1", "edge-a", "dev1"))
	a.waitFor("k1 after two failures", func() bool { return slices.Equal(a.keyMsgIDs(), []string{"k1"}) })
	if r := value(edgeRetries) - retriesBefore; r != 2 {
		t.Errorf("retries = %v, want 2", r)
	}

	// a goes away (connection refused): room messages still reach b.
	a.stop()
	var sent []string
	for i := range 20 {
		id := fmt.Sprintf("down%d", i)
		sent = append(sent, id)
		h.publish(roomMsg(id, "live://1"))
	}
	b.waitFor("room messages while a is down", func() bool { return len(b.roomMsgIDs()) == 20 })
	eventually(t, "a down", h.conn("edge-a").brk.isOpen)

	// a comes back on the same address: a trial closes its breaker and
	// it gets every parked message, in order.
	a.restart()
	a.waitFor("the parked messages", func() bool { return len(a.roomMsgIDs()) >= 20 })
	if got := a.roomMsgIDs(); !slices.Equal(got, sent) {
		t.Errorf("edge-a got %v after recovering, want %v", got, sent)
	}
}

// Job follows the registry: new edges get messages, departed ones do not,
// and keys pushes for a departed edge are dropped and counted.
func TestFollowsRegistry(t *testing.T) {
	a, b := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-b")
	h := startJob(t, testConfig(), a)
	h.publish(roomMsg("r1", "live://1"))
	a.waitFor("r1", func() bool { return len(a.roomMsgIDs()) == 1 })

	if err := h.reg.Add(b.instance()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two edges", func() bool { return value(edgesGauge) == 2 })
	h.publish(roomMsg("r2", "live://1"))
	a.waitFor("r2", func() bool { return len(a.roomMsgIDs()) == 2 })
	b.waitFor("r2", func() bool { return slices.Equal(b.roomMsgIDs(), []string{"r2"}) })

	h.reg.Remove(a.instance())
	eventually(t, "one edge", func() bool { return value(edgesGauge) == 1 })
	unknown := counter("keys", resultUnknownEdge)
	h.publish(keysMsg("k1", "edge-a", "dev1"), roomMsg("r3", "live://1"))
	b.waitFor("r3", func() bool { return len(b.roomMsgIDs()) == 2 })
	eventually(t, "keys for the departed edge dropped", func() bool { return counter("keys", resultUnknownEdge) == unknown+1 })
	if ids := a.roomMsgIDs(); len(ids) != 2 || len(a.keyMsgIDs()) != 0 {
		t.Errorf("departed edge still got messages: rooms %v keys %v", ids, a.keyMsgIDs())
	}

	// Same node, new address (restarted elsewhere): job redials.
	moved := startRecEdge(t, "edge-b")
	if err := h.reg.Add(moved.instance()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "moved edge gets room messages", func() bool {
		h.publish(roomMsg("r4", "live://1"))
		time.Sleep(20 * time.Millisecond)
		return slices.Contains(moved.roomMsgIDs(), "r4")
	})
}

// With room targeting by members, room messages go only to edges that
// report members of the room (or whose report is stale).
func TestRoomTargetingMembers(t *testing.T) {
	a, b := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-b")
	a.setMembers(map[string]int32{"live://1": 3})
	cfg := testConfig()
	cfg.RoomTargeting = TargetMembers
	cfg.RoomsRefresh = 20 * time.Millisecond
	h := startJob(t, cfg, a, b)
	// A second poll of each edge means the first one's report is stored
	// (an edge is polled again only after its last answer).
	eventually(t, "rooms polled twice", func() bool { return a.roomsCall.Load() > 1 && b.roomsCall.Load() > 1 })

	h.publish(roomMsg("r1", "live://1"))
	a.waitFor("r1", func() bool { return len(a.roomMsgIDs()) == 1 })

	// b gains a member; after the next poll it is a target too.
	b.setMembers(map[string]int32{"live://1": 1})
	polls := b.roomsCall.Load()
	eventually(t, "b polled again", func() bool { return b.roomsCall.Load() > polls+1 })
	h.publish(roomMsg("r2", "live://1"))
	b.waitFor("r2", func() bool { return slices.Equal(b.roomMsgIDs(), []string{"r2"}) })
	a.waitFor("r2", func() bool { return len(a.roomMsgIDs()) == 2 })

	// Only r2 reached b: r1 went to a alone.
	if got := b.roomMsgIDs(); !slices.Equal(got, []string{"r2"}) {
		t.Errorf("edge-b room messages = %v, want [r2]", got)
	}
}

func TestRoomsViewStaleTargetsEdge(t *testing.T) {
	var v roomsView
	if !v.mayHold("live://1", time.Second) {
		t.Error("no report yet: must target the edge")
	}
	v.set(map[string]int32{"live://2": 1})
	if v.mayHold("live://1", time.Second) {
		t.Error("fresh report without the room: must not target")
	}
	if !v.mayHold("live://2", time.Second) {
		t.Error("fresh report with the room: must target")
	}
	v.p.Store(&roomsReport{at: time.Now().Add(-time.Minute), rooms: map[string]int32{}})
	if !v.mayHold("live://1", time.Second) {
		t.Error("stale report: must target the edge")
	}
}

// Stopping job in the middle of a fan-out leaves the message
// unacknowledged (the queue keeps it for the next consumer), and does not
// wait out the hung edge's deadline.
func TestCloseMidFanOutLeavesMessageQueued(t *testing.T) {
	hung := startRecEdge(t, "edge-hung")
	hung.setHang()
	cfg := testConfig()
	cfg.RPCTimeout = time.Minute
	h := startJob(t, cfg, hung)
	h.publish(keysMsg("k1", "edge-hung", "dev1"))
	eventually(t, "message taken by job", func() bool { return h.q.Len() == 0 })
	eventually(t, "the RPC in flight", func() bool { return hung.entered.Load() > 0 })

	closed := make(chan struct{})
	go func() {
		h.job.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited on the hung edge")
	}
	if n := h.q.Len(); n != 1 {
		t.Errorf("queue holds %d messages after Close, want the unacknowledged one back", n)
	}
	if err := h.job.Run(context.Background()); err == nil {
		t.Error("Run after Close succeeded")
	}
}
