package job

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

func poisonCount(kind, reason string) float64 {
	return value(poisonTotal.WithLabelValues(kind, reason))
}

// Messages an edge refuses (EdgeError: the message's own fault) are
// poison: each is sent once, moved to the queue's dead letters and
// counted, the edge's breaker does not move, and the good pushes after
// them are all delivered.
func TestEdgeRefusalIsPoisonNotFailure(t *testing.T) {
	a, b := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-b")
	cfg := testConfig() // breaker_failures 3: three refusals would open it
	h := startJob(t, cfg, a, b)
	poisonKeys, poisonRoom := poisonCount("keys", poisonRefused), poisonCount("room", poisonRefused)
	retries := value(edgeRetries)

	bad := func(m *common.PushMsg) *common.PushMsg { m.Op = opRaw; return m }
	h.publish(bad(keysMsg("bad1", "edge-a", "dev1")), bad(keysMsg("bad2", "edge-a", "dev2")), bad(keysMsg("bad3", "edge-a", "dev3")))
	eventually(t, "three keys poison messages moved aside", func() bool { return h.q.DeadCount() == 3 })
	h.publish(bad(roomMsg("badroom", "live://1")))
	eventually(t, "room poison moved aside", func() bool { return h.q.DeadCount() == 4 })

	const good = 20
	var wantKeys, wantRooms []string
	for i := range good {
		k, r := fmt.Sprintf("k%d", i), fmt.Sprintf("r%d", i)
		wantKeys, wantRooms = append(wantKeys, k), append(wantRooms, r)
		h.publish(keysMsg(k, "edge-a", "dev1"), roomMsg(r, "live://1"))
	}
	a.waitFor("every good keys push", func() bool { return len(a.keyMsgIDs()) == good })
	for _, e := range []*recEdge{a, b} {
		e.waitFor("every good room push", func() bool { return len(e.roomMsgIDs()) == good })
		if got := e.roomMsgIDs(); !slices.Equal(got, wantRooms) {
			t.Errorf("%s room pushes = %v, want %v", e.node, got, wantRooms)
		}
	}
	if got := a.keyMsgIDs(); !slices.Equal(got, wantKeys) {
		t.Errorf("edge-a keys pushes = %v, want %v", got, wantKeys)
	}
	if n := poisonCount("keys", poisonRefused) - poisonKeys; n != 3 {
		t.Errorf("keys poison counted %v, want 3", n)
	}
	if n := poisonCount("room", poisonRefused) - poisonRoom; n != 1 {
		t.Errorf("room poison counted %v, want 1", n)
	}
	// Each refusal was a single call: never retried.
	if n := a.refused.Load(); n != 4 {
		t.Errorf("edge-a refused %d calls, want 4 (one per poison message, no retries)", n)
	}
	if n := value(edgeRetries) - retries; n != 0 {
		t.Errorf("%v retries, want 0", n)
	}
	for _, e := range []*recEdge{a, b} {
		c := h.conn(e.node)
		if c.brk.isOpen() || c.brk.failures.Load() != 0 {
			t.Errorf("%s breaker open=%v failures=%d after refusals, want closed with 0", e.node, c.brk.isOpen(), c.brk.failures.Load())
		}
	}
	for _, d := range h.q.Dead() {
		if !slices.Contains([]string{"bad1", "bad2", "bad3", "badroom"}, d.Msg.Id) {
			t.Errorf("dead letter %s is not one of the poison messages", d.Msg.Id)
		}
	}
}

// A refused message coalesced with good ones in one PushRoom is sent
// again alone, so only it is set aside and the good ones are delivered.
func TestRefusedMessageInRoomBatchIsIsolated(t *testing.T) {
	a := startRecEdge(t, "edge-a")
	h := startJob(t, testConfig(), a)
	c := h.conn("edge-a")
	w := newWaiter(3)
	msgs := []*common.PushMsg{roomMsg("r1", "live://1"), roomMsg("r2", "live://1"), roomMsg("r3", "live://1")}
	msgs[1].Op = opRaw
	var batch []*task
	for _, m := range msgs {
		batch = append(batch, newTask(t.Context(), m, 0, w))
	}
	c.send(c.lanes[0], batch)
	<-w.done
	if ref := w.refused.Load(); ref == nil || ref.node != "edge-a" || ref.err.GetCode() != 400 {
		t.Fatalf("refusal = %+v, want edge-a code 400", ref)
	}
	if w.failed.Load() != 0 {
		t.Errorf("%d failed, want 0", w.failed.Load())
	}
	if got := a.roomMsgIDs(); !slices.Equal(got, []string{"r1", "r3"}) {
		t.Errorf("delivered %v, want [r1 r3]", got)
	}
}

// Slow calls count towards the breaker when another edge answers fast:
// the slow edge is down after breaker_failures of them (its pushes were
// still delivered), and the fast one is untouched.
func TestSlowCallsOpenBreaker(t *testing.T) {
	fast, slow := startRecEdge(t, "edge-fast"), startRecEdge(t, "edge-slow")
	cfg := testConfig()
	cfg.SlowCall = 150 * time.Millisecond
	cfg.RPCTimeout = 5 * time.Second
	cfg.ProbeInterval = time.Hour
	slow.delay.Store(int64(400 * time.Millisecond))
	h := startJob(t, cfg, fast, slow)
	// The fast edge answers under slow_call on average (pushes until it
	// does: the first call also dials, and the machine may be loaded).
	fc := h.conn("edge-fast")
	sentFast := 0
	eventually(t, "fast edge's average latency under slow_call", func() bool {
		sentFast++
		h.publish(keysMsg(fmt.Sprintf("f%d", sentFast), "edge-fast", "dev1"))
		fast.waitFor("a push on the fast edge", func() bool { return len(fast.keyMsgIDs()) == sentFast })
		l := time.Duration(fc.latency.Load())
		return l > 0 && l < cfg.SlowCall
	})
	slowBefore := value(edgeSlowCalls.WithLabelValues("PushKeys"))
	for i := range cfg.BreakerFailures {
		h.publish(keysMsg(fmt.Sprintf("k%d", i), "edge-slow", "dev1"))
		slow.waitFor("slow push delivered", func() bool { return len(slow.keyMsgIDs()) == i+1 })
	}
	c := h.conn("edge-slow")
	eventually(t, "breaker open after slow calls", c.brk.isOpen)
	if n := value(edgeSlowCalls.WithLabelValues("PushKeys")) - slowBefore; n != float64(cfg.BreakerFailures) {
		t.Errorf("slow calls counted %v, want %d", n, cfg.BreakerFailures)
	}
	if h.conn("edge-fast").brk.isOpen() {
		t.Error("the fast edge's breaker opened")
	}
}

// When every edge is slow (job starved, a burst everyone works through),
// slowness is nobody's fault: no breaker opens and every push arrives.
func TestAllEdgesSlowOpensNoBreaker(t *testing.T) {
	a, b := startRecEdge(t, "edge-a"), startRecEdge(t, "edge-b")
	cfg := testConfig()
	cfg.SlowCall = 10 * time.Millisecond
	cfg.RPCTimeout = 5 * time.Second
	for _, e := range []*recEdge{a, b} {
		e.delay.Store(int64(30 * time.Millisecond))
	}
	h := startJob(t, cfg, a, b)
	const n = 12 // four times breaker_failures
	var sent []string
	for i := range n {
		id := fmt.Sprintf("r%d", i)
		sent = append(sent, id)
		h.publish(roomMsg(id, "live://1"))
	}
	for _, e := range []*recEdge{a, b} {
		e.waitFor("every room push", func() bool { return len(e.roomMsgIDs()) >= n })
		if tl := count(sent, e.roomMsgIDs()); tl.lost != 0 || tl.duplicated != 0 {
			t.Errorf("%s: %v", e.node, tl)
		}
		if h.conn(e.node).brk.isOpen() {
			t.Errorf("%s: breaker open although every edge was as slow", e.node)
		}
	}
}

// conn waits until job has a client for node and returns it.
func (h *harness) conn(node string) *edgeConn {
	h.t.Helper()
	var c *edgeConn
	deadline := time.Now().Add(10 * time.Second)
	for c == nil {
		h.job.mu.Lock()
		set := h.job.edges
		h.job.mu.Unlock()
		if set != nil {
			c = set.node(node)
		}
		if c == nil && time.Now().After(deadline) {
			h.t.Fatalf("job has no client for edge %s", node)
		}
		time.Sleep(time.Millisecond)
	}
	return c
}

// A slow edge whose breaker slow calls opened still gets every push: its
// trial calls, slow as they are, close the breaker again, so what waited
// is delivered instead of expiring after edge_grace. Counts sent,
// delivered, lost and duplicated on the slow edge.
func TestSlowEdgeLosesNothing(t *testing.T) {
	fast, slow := startRecEdge(t, "edge-fast"), startRecEdge(t, "edge-slow")
	cfg := testConfig()
	cfg.SlowCall = 150 * time.Millisecond
	cfg.RPCTimeout = 5 * time.Second
	cfg.ProbeInterval = 100 * time.Millisecond
	cfg.EdgeGrace = 30 * time.Second // the default: a slow edge is not a gone one
	h := startJob(t, cfg, fast, slow)
	fc := h.conn("edge-fast")
	sentFast := 0
	eventually(t, "fast edge's average latency under slow_call", func() bool {
		sentFast++
		h.publish(keysMsg(fmt.Sprintf("f%d", sentFast), "edge-fast", "dev1"))
		fast.waitFor("a push on the fast edge", func() bool { return len(fast.keyMsgIDs()) == sentFast })
		l := time.Duration(fc.latency.Load())
		return l > 0 && l < cfg.SlowCall
	})
	lost0 := 0.0
	for _, r := range []string{"edge_down", "outbox_full", "edge_gone"} {
		lost0 += value(lostTotal.WithLabelValues("keys", r))
	}
	slow.delay.Store(int64(300 * time.Millisecond))
	const n = 12 // four times breaker_failures
	for i := range n {
		h.publish(keysMsg(fmt.Sprintf("s%d", i), "edge-slow", "dev1"))
	}
	slow.waitFor("every push on the slow edge", func() bool {
		seen := map[string]bool{}
		for _, id := range slow.keyMsgIDs() {
			seen[id] = true
		}
		return len(seen) == n
	})
	ids := slow.keyMsgIDs()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	dup := len(ids) - len(seen)
	lost := 0.0
	for _, r := range []string{"edge_down", "outbox_full", "edge_gone"} {
		lost += value(lostTotal.WithLabelValues("keys", r))
	}
	t.Logf("slow edge: sent %d, delivered %d, duplicated %d, lost %v", n, len(seen), dup, lost-lost0)
	if lost != lost0 {
		t.Errorf("%v pushes counted lost on a slow edge", lost-lost0)
	}
	eventually(t, "slow edge's breaker closed by a trial", func() bool { return !h.conn("edge-slow").brk.isOpen() })
}
