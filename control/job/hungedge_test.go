package job

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// firstArrivals is received with repeats removed, in order of first
// arrival: what devices see behind the edge's dedup by message id.
func firstArrivals(received []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range received {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// withPrefix keeps the ids that start with p, in order.
func withPrefix(ids []string, p string) []string {
	var out []string
	for _, id := range ids {
		if strings.HasPrefix(id, p) {
			out = append(out, id)
		}
	}
	return out
}

// An edge that stops answering for longer than rpc_timeout × (retries+1)
// (as a SIGSTOPped edge does: connected, registered, silent) gets its
// whole share once it answers again, in order per target, and nothing is
// lost; a healthy edge next to it keeps receiving while it hangs (its
// messages do not wait behind the hung edge's).
func TestHungEdgeGetsItsShareWhenItAnswersAgain(t *testing.T) {
	good, hung := startRecEdge(t, "edge-good"), startRecEdge(t, "edge-hung")
	cfg := testConfig()
	cfg.RPCTimeout = 100 * time.Millisecond
	cfg.Retries = 2
	cfg.ProbeInterval = 100 * time.Millisecond
	cfg.EdgeGrace = time.Minute
	h := startJob(t, cfg, good, hung)
	lostBefore := map[string]float64{}
	for _, kind := range []string{"keys", "room"} {
		for _, r := range []string{lostOutboxFull, lostEdgeDown, lostEdgeGone, lostJobStopped} {
			lostBefore[kind+r] = value(lostTotal.WithLabelValues(kind, r))
		}
	}
	retriesBefore := value(edgeRetries)
	parkedSentBefore := value(parkedSent.WithLabelValues("room")) + value(parkedSent.WithLabelValues("keys"))

	// Every message of a phase: one to the room (both edges), one by key
	// to each edge (four key lists on the hung edge, to use several lanes).
	var sentRoom, sentHung, sentGood []string
	publish := func(phase string, n int, pause time.Duration) {
		for i := range n {
			r, kh, kg := fmt.Sprintf("%s-r%03d", phase, i), fmt.Sprintf("%s-h%d-%03d", phase, i%4, i), fmt.Sprintf("%s-g%03d", phase, i)
			sentRoom, sentHung, sentGood = append(sentRoom, r), append(sentHung, kh), append(sentGood, kg)
			h.publish(roomMsg(r, "live://1"), keysMsg(kh, "edge-hung", fmt.Sprintf("dev-h%d", i%4)), keysMsg(kg, "edge-good", "dev-g"))
			time.Sleep(pause)
		}
	}
	publish("before", 20, 0)
	for _, e := range []*recEdge{good, hung} {
		e.waitFor("the first messages", func() bool {
			return len(firstArrivals(e.roomMsgIDs())) == 20 && len(firstArrivals(e.keyMsgIDs())) == 20
		})
	}

	hung.setHang()
	hangStart := time.Now()
	publish("during", 60, 10*time.Millisecond)
	// The healthy edge gets everything sent during the hang while the
	// other edge is still hung: nothing of it waits on the hung edge.
	good.waitFor("the messages sent during the hang", func() bool {
		return len(firstArrivals(good.roomMsgIDs())) == 80 && len(firstArrivals(good.keyMsgIDs())) == 80
	})
	t.Logf("healthy edge had every message sent during the hang %v after the hang began", time.Since(hangStart).Round(time.Millisecond))
	// Hang past every retry, until job holds the edge down.
	c := h.conn("edge-hung")
	eventually(t, "the hung edge marked down", c.brk.isOpen)
	if d := cfg.RPCTimeout * time.Duration(cfg.Retries+1); time.Since(hangStart) < 2*d {
		time.Sleep(2*d - time.Since(hangStart))
	}
	if got := len(firstArrivals(hung.roomMsgIDs())); got != 20 {
		t.Fatalf("hung edge recorded %d room messages while hung, want the 20 from before", got)
	}
	hung.unhang()
	t.Logf("edge hung for %v (rpc_timeout %v × %d attempts = %v)", time.Since(hangStart).Round(time.Millisecond),
		cfg.RPCTimeout, cfg.Retries+1, cfg.RPCTimeout*time.Duration(cfg.Retries+1))
	publish("after", 20, 0)

	for _, e := range []*recEdge{good, hung} {
		e.waitFor("every message", func() bool {
			return len(firstArrivals(e.roomMsgIDs())) == 100 && len(firstArrivals(e.keyMsgIDs())) == 100
		})
	}
	// A timed-out attempt that the edge processes anyway (a hung edge
	// when it resumes; on a loaded machine even the healthy one) is sent
	// again: the edge sees the message twice and drops the repeat by id
	// (edge/dedup.go); devices see first arrivals. So duplicates are
	// counted as received, and only a retry can make one on the healthy
	// edge (the down edge also gets trials).
	check := func(e *recEdge, kind string, sent, received []string) int {
		tl := count(sent, received)
		t.Logf("%s %s: %v (as received, before the edge's dedup by message id)", e.node, kind, tl)
		if tl.lost != 0 {
			t.Errorf("%s %s: %v", e.node, kind, tl)
		}
		return tl.duplicated
	}
	goodDups := check(good, "room", sentRoom, good.roomMsgIDs()) + check(good, "keys", sentGood, good.keyMsgIDs())
	check(hung, "room", sentRoom, hung.roomMsgIDs())
	check(hung, "keys", sentHung, hung.keyMsgIDs())
	if retries := value(edgeRetries) - retriesBefore; float64(goodDups) > retries {
		t.Errorf("healthy edge got %d duplicates, more than the %v retries job made", goodDups, retries)
	}

	// Order per target, as devices see it.
	if got := firstArrivals(good.roomMsgIDs()); !slices.Equal(got, sentRoom) {
		t.Errorf("healthy edge room order: %v", got)
	}
	if got := firstArrivals(hung.roomMsgIDs()); !slices.Equal(got, sentRoom) {
		t.Errorf("hung edge room order (first arrivals): %v, want %v", got, sentRoom)
	}
	for k := range 4 {
		p := fmt.Sprintf("-h%d-", k)
		var want []string
		for _, id := range sentHung {
			if strings.Contains(id, p) {
				want = append(want, id)
			}
		}
		var got []string
		for _, id := range firstArrivals(hung.keyMsgIDs()) {
			if strings.Contains(id, p) {
				got = append(got, id)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("hung edge keys dev-h%d order: %v, want %v", k, got, want)
		}
	}
	if n := len(withPrefix(firstArrivals(hung.roomMsgIDs()), "during")); n != 60 {
		t.Errorf("hung edge got %d of the 60 room messages sent while it hung", n)
	}

	for key, before := range lostBefore {
		kind, reason := key[:4], key[4:]
		if n := value(lostTotal.WithLabelValues(kind, reason)) - before; n != 0 {
			t.Errorf("goim_job_lost_total{%s,%s} rose by %v", kind, reason, n)
		}
	}
	eventually(t, "nothing left parked", func() bool { return value(parkedGauge) == 0 })
	late := value(parkedSent.WithLabelValues("room")) + value(parkedSent.WithLabelValues("keys")) - parkedSentBefore
	t.Logf("parked messages sent after the hang: %v", late)
	if late == 0 {
		t.Error("no parked message was sent late: the hang did not park anything")
	}
}

// A down edge's outbox is bounded: what does not fit is lost for that
// edge and counted (outbox_full), what fits is delivered once the edge
// answers again.
func TestDownEdgeOutboxOverflowIsCounted(t *testing.T) {
	hung := startRecEdge(t, "edge-hung")
	cfg := testConfig()
	cfg.RPCTimeout = 100 * time.Millisecond
	cfg.MaxInflightPerEdge = 4
	cfg.EdgeQueue = 8
	cfg.EdgeGrace = time.Minute
	h := startJob(t, cfg, hung)
	lostBefore := value(lostTotal.WithLabelValues("room", lostOutboxFull))
	hung.setHang()
	const n = 50
	var sent []string
	for i := range n {
		id := fmt.Sprintf("o%02d", i)
		sent = append(sent, id)
		h.publish(roomMsg(id, "live://1"))
	}
	eventually(t, "what does not fit counted lost", func() bool {
		return value(lostTotal.WithLabelValues("room", lostOutboxFull))-lostBefore == n-float64(cfg.EdgeQueue)
	})
	hung.unhang()
	want := sent[:cfg.EdgeQueue]
	hung.waitFor("the outbox", func() bool { return len(firstArrivals(hung.roomMsgIDs())) >= len(want) })
	if got := firstArrivals(hung.roomMsgIDs()); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want the first %d: %v", got, len(want), want)
	}
}
