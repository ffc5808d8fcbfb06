package edge

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

// innerBodies decodes a written OpRaw batch into its frames' bodies.
func innerBodies(t testing.TB, msg []byte) []string {
	t.Helper()
	f, err := protocol.DecodeMessage(msg, len(msg))
	if err != nil {
		t.Fatalf("decode batch: %v", err)
	}
	if f.Op != protocol.OpRaw || f.Ver != 1 || f.Seq != 0 {
		t.Fatalf("batch header = op %d ver %d seq %d, want op 9 ver 1 seq 0", f.Op, f.Ver, f.Seq)
	}
	var out []string
	if err := protocol.SplitRaw(f.Body, func(in protocol.Frame) error {
		out = append(out, fmt.Sprintf("%d:%s", in.Op, in.Body))
		return nil
	}); err != nil {
		t.Fatalf("split batch: %v", err)
	}
	return out
}

func msgs(op int32, bodies ...string) []*edge.RoomMsg {
	var out []*edge.RoomMsg
	for _, b := range bodies {
		out = append(out, &edge.RoomMsg{Op: op, Body: []byte(b)})
	}
	return out
}

func TestRoomQuietFlushesAtOnceBusyCoalesces(t *testing.T) {
	srv := newUnitServer(t, func(c *Config) { c.RoomBatchWindow = time.Second })
	tr := &recTransport{}
	s := publishedSession(srv, "k1", tr)
	if !s.join("live://1") {
		t.Fatal("join refused")
	}
	r := srv.room("live://1")
	timerArmed := func() bool {
		r.bmu.Lock()
		defer r.bmu.Unlock()
		return r.timerSet
	}
	if n := r.push(msgs(1000, "a")); n != 1 {
		t.Fatalf("push reached %d members, want 1", n)
	}
	// Quiet room: the push chose a flush, not a wait for the window.
	if timerArmed() {
		t.Fatal("a quiet room armed a timer for its first push")
	}
	eventually(t, "first batch", func() bool { return len(tr.written()) == 1 })
	// Busy room: as if it had just flushed (far from its window's end,
	// whatever the machine's speed), pushes wait for the window.
	r.bmu.Lock()
	r.lastFlush = time.Now().Add(time.Hour)
	r.bmu.Unlock()
	r.push(msgs(1000, "b"))
	r.push(msgs(1001, "c", "d"))
	if !timerArmed() || len(tr.written()) != 1 {
		t.Fatalf("busy room: timer armed %v, batches written %d; want a timer and 1", timerArmed(), len(tr.written()))
	}
	// The window ends: what waited goes out as one batch.
	r.bmu.Lock()
	r.lastFlush = time.Now().Add(-time.Hour)
	r.bmu.Unlock()
	r.onTimer()
	eventually(t, "coalesced batch", func() bool { return len(tr.written()) == 2 })
	got := tr.written()
	if b := innerBodies(t, got[0]); fmt.Sprint(b) != "[1000:a]" {
		t.Fatalf("first batch = %v", b)
	}
	if b := innerBodies(t, got[1]); fmt.Sprint(b) != "[1000:b 1001:c 1001:d]" {
		t.Fatalf("second batch = %v", b)
	}
}

func TestRoomBatchIsSharedAndOrdered(t *testing.T) {
	srv := newUnitServer(t, func(c *Config) { c.RoomBatchWindow = 5 * time.Millisecond })
	const members, pushes = 20, 200
	var trs []*recTransport
	for i := range members {
		tr := &recTransport{}
		trs = append(trs, tr)
		publishedSession(srv, fmt.Sprint("k", i), tr).join("live://order")
	}
	r := srv.room("live://order")
	for i := range pushes {
		r.push(msgs(1000, fmt.Sprint(i)))
		if i%50 == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i, tr := range trs {
		eventually(t, "all pushes", func() bool {
			n := 0
			for _, m := range tr.written() {
				n += len(innerBodies(t, m))
			}
			return n == pushes
		})
		var seq []string
		for _, m := range tr.written() {
			seq = append(seq, innerBodies(t, m)...)
		}
		for j, b := range seq {
			if b != fmt.Sprintf("1000:%d", j) {
				t.Fatalf("member %d: message %d = %s, out of order", i, j, b)
			}
		}
		// Every member got the very same encoded bytes.
		if i > 0 {
			a, b := trs[0].written(), tr.written()
			for j := range a {
				if &a[j][0] != &b[j][0] {
					t.Fatalf("member %d batch %d is a separate encoding", i, j)
				}
			}
		}
	}
}

func TestRoomMembershipAndEmptyRoomDropped(t *testing.T) {
	srv := newUnitServer(t, func(c *Config) { c.MaxRooms = 2 })
	s := publishedSession(srv, "k", &recTransport{})
	if !s.join("a://1") || !s.join("a://2") || !s.join("a://1") {
		t.Fatal("join refused under the limit")
	}
	if s.join("a://3") {
		t.Fatal("join beyond max_rooms accepted")
	}
	if s.join("") || s.join(string(bytes.Repeat([]byte("x"), maxRoomID+1))) {
		t.Fatal("invalid room id accepted")
	}
	if st := srv.Stats(); st.Rooms != 2 {
		t.Fatalf("rooms = %d, want 2", st.Rooms)
	}
	s.leave("a://1")
	if srv.room("a://1") != nil {
		t.Fatal("empty room kept")
	}
	s.changeRoom("b://1")
	if srv.room("a://2") != nil || srv.room("b://1") == nil {
		t.Fatal("change room did not leave all rooms and join the new one")
	}
	s.changeRoom("")
	if st := srv.Stats(); st.Rooms != 0 {
		t.Fatalf("rooms = %d after leaving all, want 0", st.Rooms)
	}
}

func TestRoomJoinLeaveRace(t *testing.T) {
	srv := newUnitServer(t, func(c *Config) { c.RoomBatchWindow = time.Millisecond })
	var wg sync.WaitGroup
	for i := range 8 {
		s := publishedSession(srv, fmt.Sprint("k", i), &recTransport{})
		wg.Go(func() {
			for range 500 {
				s.join("race://1")
				s.leave("race://1")
			}
		})
	}
	wg.Go(func() {
		for range 500 {
			if r := srv.room("race://1"); r != nil {
				r.push(msgs(1000, "x"))
			}
		}
	})
	wg.Wait()
	if srv.room("race://1") != nil {
		t.Fatal("room left behind after every member left")
	}
}

func TestSlowConsumerDropsAreCounted(t *testing.T) {
	for _, disconnect := range []bool{false, true} {
		t.Run(fmt.Sprint("disconnect=", disconnect), func(t *testing.T) {
			srv := newUnitServer(t, func(c *Config) { c.SendQueue = 4; c.DisconnectSlow = disconnect })
			slow := &recTransport{block: make(chan struct{})}
			fast := &recTransport{}
			s := publishedSession(srv, "slow", slow, 1000)
			publishedSession(srv, "fast", fast, 1000)
			drops0 := counterValue(t, dropsTotal)
			h := &Handler{srv: srv}
			// The first push is taken by the drain goroutine and blocks in
			// write; 4 more fill the queue; the rest are dropped.
			var delivered int32
			for i := range 10 {
				resp, err := h.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"slow", "fast"}, Op: 1000, Body: []byte{byte(i)}})
				if err != nil {
					t.Fatal(err)
				}
				delivered += resp.Delivered
				// The healthy connection keeps up (its writes do not wait
				// on the slow one).
				eventually(t, "fast consumer to drain", func() bool { return len(fast.written()) == i+1 })
				if i == 0 {
					eventually(t, "drain to take the first push", func() bool {
						s.qmu.Lock()
						defer s.qmu.Unlock()
						return len(s.queue) == 0
					})
				}
			}
			if disconnect {
				eventually(t, "slow consumer closed", slow.isClosed)
			}
			// fast got all 10; slow at most 1 + queue.
			if delivered > 10+1+4 || delivered < 10+1 {
				t.Fatalf("delivered = %d, want between 11 and 15", delivered)
			}
			drops := int32(counterValue(t, dropsTotal) - drops0)
			slowGot := delivered - 10
			if !disconnect && slowGot+drops != 10 {
				t.Fatalf("slow took %d and dropped %d of 10 pushes", slowGot, drops)
			}
			if disconnect && drops < 1 {
				t.Fatalf("no drop counted")
			}
			close(slow.block)
		})
	}
}

func TestPushKeysHonoursAccepts(t *testing.T) {
	srv := newUnitServer(t, nil)
	a, b := &recTransport{}, &recTransport{}
	publishedSession(srv, "a", a, 1000)
	publishedSession(srv, "b", b, 1001)
	h := &Handler{srv: srv}
	resp, err := h.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"a", "b", "nobody"}, Op: 1000, Body: []byte("hi")})
	if err != nil || resp.Delivered != 1 {
		t.Fatalf("PushKeys = %v, %v; want 1 delivered", resp, err)
	}
	eventually(t, "a's push", func() bool { return len(a.written()) == 1 })
	want := protocol.AppendFrame(nil, 1, 1000, 0, []byte("hi"))
	if !bytes.Equal(a.written()[0], want) {
		t.Fatalf("pushed % x, want % x", a.written()[0], want)
	}
	for _, bad := range []*edge.PushKeysReq{{Op: 1000}, {Keys: []string{"a"}, Op: protocol.OpRaw}} {
		if _, err := h.PushKeys(context.Background(), bad); err == nil {
			t.Fatalf("PushKeys(%v) accepted", bad)
		}
	}
	if _, err := h.Broadcast(context.Background(), &edge.BroadcastReq{Op: protocol.OpRaw}); err == nil {
		t.Fatal("Broadcast of op 9 accepted")
	}
	for _, bad := range []*edge.PushRoomReq{{Msgs: msgs(1000, "x")}, {Room: "a://1"}, {Room: "a://1", Msgs: []*edge.RoomMsg{nil}}, {Room: "a://1", Msgs: msgs(protocol.OpRaw, "x")}} {
		if _, err := h.PushRoom(context.Background(), bad); err == nil {
			t.Fatalf("PushRoom(%v) accepted", bad)
		}
	}
}

// A paced broadcast reaches everyone, and no faster than its speed: at
// speed v the n-th connection cannot be reached before (n-1)/v seconds
// (a lower bound, which a slow machine cannot break).
func TestBroadcastPacedReachesEveryoneAtItsSpeed(t *testing.T) {
	srv := newUnitServer(t, nil)
	var trs []*recTransport
	for i := range 30 {
		tr := &recTransport{}
		trs = append(trs, tr)
		publishedSession(srv, fmt.Sprint("k", i), tr, 1000)
	}
	h := &Handler{srv: srv}
	const speed = 100
	start := time.Now()
	resp, err := h.Broadcast(context.Background(), &edge.BroadcastReq{Op: 1000, Body: []byte("all"), Speed: speed})
	if err != nil || resp.Connections != 30 {
		t.Fatalf("Broadcast = %v, %v", resp, err)
	}
	for _, tr := range trs {
		eventually(t, "broadcast", func() bool { return len(tr.written()) == 1 })
	}
	srv.loops.Wait()
	if took, least := time.Since(start), time.Duration(float64(len(trs)-1)/speed*float64(time.Second)); took < least {
		t.Fatalf("30 connections reached in %v at speed %d, want at least %v", took, speed, least)
	}
}

func BenchmarkRoomFanout(b *testing.B) {
	for _, members := range []int{1000, 10000} {
		b.Run(fmt.Sprint(members), func(b *testing.B) {
			srv := newUnitServer(b, func(c *Config) { c.RoomBatchWindow = 0; c.SendQueue = 1 << 20 })
			var trs []*countTransport
			for i := range members {
				tr := &countTransport{}
				trs = append(trs, tr)
				publishedSession(srv, fmt.Sprint("k", i), tr).join("bench://1")
			}
			r := srv.room("bench://1")
			m := msgs(1000, "0123456789012345678901234567890123456789")
			b.ResetTimer()
			for range b.N {
				r.push(m)
			}
			for _, tr := range trs {
				for tr.n.Load() < int64(b.N) {
					time.Sleep(time.Millisecond)
				}
			}
			b.ReportMetric(float64(b.N*members)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
