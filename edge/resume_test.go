package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
	"github.com/goim-edge/goim-edge/protocol"
)

// withHistory keeps history for users and for live:// rooms (size each).
func withHistory(size int) func(*logicsvc.Config) {
	return func(c *logicsvc.Config) {
		c.History.Users = history.Limits{Size: size, TTL: time.Minute}
		c.History.Rooms = []history.RoomLimits{{Type: "live", Size: size, TTL: time.Minute}}
	}
}

// pushUser pushes body to mid through logic (which appends it to the
// user's stream) and then hands it to the edge for key, as job would.
// It returns the message's position.
func (cl *cluster) pushUser(t testing.TB, mid int64, key string, body string) *common.StreamPos {
	t.Helper()
	ctx := context.Background()
	resp, err := cl.logic.PushMids(ctx, &push.PushMidsReq{Op: 1000, Mids: []int64{mid}, Body: []byte(body)})
	if err != nil {
		t.Fatalf("logic PushMids: %v", err)
	}
	if len(resp.Positions) != 1 {
		t.Fatalf("logic gave %d positions, want 1 (history on)", len(resp.Positions))
	}
	if _, err := cl.rpc.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{key}, Op: 1000, Body: []byte(body), MsgId: "m-" + body, Positions: resp.Positions}); err != nil {
		t.Fatalf("edge PushKeys: %v", err)
	}
	return resp.Positions[0]
}

// pushRoom is pushUser for room live://<id>.
func (cl *cluster) pushRoom(t testing.TB, id string, body string) *common.StreamPos {
	t.Helper()
	ctx := context.Background()
	resp, err := cl.logic.PushRoom(ctx, &push.PushRoomReq{Op: 1000, Type: "live", Room: id, Body: []byte(body)})
	if err != nil || len(resp.Positions) != 1 {
		t.Fatalf("logic PushRoom: %v, %d positions", err, len(resp.GetPositions()))
	}
	if _, err := cl.rpc.PushRoom(ctx, &edge.PushRoomReq{Room: "live://" + id, Msgs: []*edge.RoomMsg{{Op: 1000, Body: []byte(body), MsgId: "r-" + body, Position: resp.Positions[0]}}}); err != nil {
		t.Fatalf("edge PushRoom: %v", err)
	}
	return resp.Positions[0]
}

// resumeBody is an op-26 body.
func resumeBody(t testing.TB, streams ...protocol.StreamPos) []byte {
	t.Helper()
	b, err := json.Marshal(protocol.ResumeRequest{Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// got is what a positioned device read: messages by stream, and verdicts.
type got struct {
	msgs     []protocol.Positioned
	plain    []protocol.Frame
	verdicts []protocol.StreamVerdict
}

// readUntil reads frames (op 9 split) until done says so.
func (c *tcpClient) readUntil(t testing.TB, g *got, done func(*got) bool) {
	t.Helper()
	for !done(g) {
		f := c.read()
		switch f.Op {
		case protocol.OpPositioned:
			p, err := protocol.ParsePositioned(f.Body)
			if err != nil {
				t.Fatalf("op 28: %v", err)
			}
			g.msgs = append(g.msgs, p)
		case protocol.OpResumeReply:
			var r protocol.ResumeReply
			if err := json.Unmarshal(f.Body, &r); err != nil {
				t.Fatalf("op 27 %q: %v", f.Body, err)
			}
			g.verdicts = append(g.verdicts, r.Streams...)
		case protocol.OpHeartbeatReply, protocol.OpAuthReply:
		default:
			g.plain = append(g.plain, f)
		}
	}
}

// offsets lists the offsets read in stream.
func (g *got) offsets(stream string) []int64 {
	var out []int64
	for _, m := range g.msgs {
		if m.Stream == stream {
			out = append(out, m.Offset)
		}
	}
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestResumeBeforeAuthRecoversThenGoesLive(t *testing.T) {
	cl := newCluster(t, nil, withHistory(100))
	var pos *common.StreamPos
	for i := 1; i <= 5; i++ {
		pos = cl.pushUser(t, 7, "k7", fmt.Sprint("u", i)) // device offline: history only
	}
	for i := 1; i <= 3; i++ {
		cl.pushRoom(t, "1", fmt.Sprint("r", i))
	}
	c := dialTCP(t, cl.edge.Addrs().TCP)
	// Positioned at user offset 2; room from everything kept.
	c.send(protocol.OpResume, 41, resumeBody(t,
		protocol.StreamPos{Stream: "user:7", Epoch: pos.Epoch, Offset: 2},
		protocol.StreamPos{Stream: "room:live://1"},
		protocol.StreamPos{Stream: "room:live://2"}))
	c.send(protocol.OpAuth, 1, token(7, "k7", []string{"live://1"}, 1000))
	if f := c.read(); f.Op != protocol.OpAuthReply || f.Seq != 1 {
		t.Fatalf("first frame op %d seq %d, want the auth reply", f.Op, f.Seq)
	}
	var g got
	c.readUntil(t, &g, func(g *got) bool { return len(g.verdicts) > 0 })
	if o := g.offsets("user:7"); !equal(o, seq(3, 5)) {
		t.Errorf("user offsets recovered %v, want 3..5", o)
	}
	if o := g.offsets("room:live://1"); !equal(o, seq(1, 3)) {
		t.Errorf("room offsets recovered %v, want 1..3", o)
	}
	if string(g.msgs[0].Body) != "u3" || g.msgs[0].Op != 1000 || g.msgs[0].Epoch != pos.Epoch {
		t.Errorf("first recovered message %+v", g.msgs[0])
	}
	want := map[string]protocol.StreamVerdict{
		"user:7":        {Stream: "user:7", Epoch: pos.Epoch, Offset: 5, Recovered: true, Count: 3},
		"room:live://1": {Stream: "room:live://1", Recovered: true, Count: 3},
		"room:live://2": {Stream: "room:live://2", Reason: protocol.ReasonNotFollowed},
	}
	if len(g.verdicts) != 3 {
		t.Fatalf("verdicts %+v", g.verdicts)
	}
	for _, v := range g.verdicts {
		w := want[v.Stream]
		if v.Stream == "room:live://1" {
			w.Epoch, w.Offset = v.Epoch, 3
		}
		if v != w {
			t.Errorf("verdict %+v, want %+v", v, w)
		}
	}
	// Live now, positioned.
	cl.pushUser(t, 7, "k7", "u6")
	cl.pushRoom(t, "1", "r4")
	g = got{}
	c.readUntil(t, &g, func(g *got) bool { return len(g.msgs) == 2 })
	if !equal(g.offsets("user:7"), []int64{6}) || !equal(g.offsets("room:live://1"), []int64{4}) || len(g.plain) != 0 {
		t.Fatalf("live: %+v", g)
	}
}

// Messages pushed while the device resumes arrive exactly once, in
// order: recovered or live, never both, never neither.
func TestResumeBoundaryHasNoGapNoDuplicate(t *testing.T) {
	cl := newCluster(t, nil, withHistory(1000))
	first := cl.pushUser(t, 9, "k9", "m1")
	const total = 300
	var wg sync.WaitGroup
	wg.Add(1)
	started := make(chan struct{})
	go func() {
		defer wg.Done()
		for i := 2; i <= total; i++ {
			if i == 20 {
				close(started)
			}
			cl.pushUser(t, 9, "k9", fmt.Sprint("m", i))
		}
	}()
	<-started
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.send(protocol.OpResume, 2, resumeBody(t, protocol.StreamPos{Stream: "user:9", Epoch: first.Epoch, Offset: 1}))
	c.send(protocol.OpAuth, 3, token(9, "k9", nil, 1000))
	var g got
	c.readUntil(t, &g, func(g *got) bool { o := g.offsets("user:9"); return len(o) > 0 && o[len(o)-1] == total })
	wg.Wait()
	if o := g.offsets("user:9"); !equal(o, seq(2, total)) {
		t.Fatalf("offsets %v, want 2..%d once each in order", o, total)
	}
	for i, m := range g.msgs {
		if string(m.Body) != fmt.Sprint("m", m.Offset) {
			t.Fatalf("message %d: offset %d body %q", i, m.Offset, m.Body)
		}
	}
	if len(g.verdicts) != 1 || !g.verdicts[0].Recovered {
		t.Fatalf("verdicts %+v", g.verdicts)
	}
}

func TestResumeVerdictsWhenHistoryCannotCover(t *testing.T) {
	cl := newCluster(t, nil, withHistory(3))
	var pos *common.StreamPos
	for i := 1; i <= 10; i++ {
		pos = cl.pushUser(t, 5, "k5", fmt.Sprint("u", i))
	}
	for _, tt := range []struct {
		name   string
		from   protocol.StreamPos
		reason string
	}{
		{"gap", protocol.StreamPos{Stream: "user:5", Epoch: pos.Epoch, Offset: 2}, protocol.ReasonGap},
		{"epoch", protocol.StreamPos{Stream: "user:5", Epoch: "0123456789abcdef", Offset: 2}, protocol.ReasonEpoch},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialTCP(t, cl.edge.Addrs().TCP)
			c.send(protocol.OpResume, 1, resumeBody(t, tt.from))
			c.send(protocol.OpAuth, 2, token(5, "k5-"+tt.name, nil, 1000))
			var g got
			c.readUntil(t, &g, func(g *got) bool { return len(g.verdicts) > 0 })
			v := g.verdicts[0]
			if v.Recovered || v.Reason != tt.reason || v.Offset != 10 || v.Epoch != pos.Epoch {
				t.Errorf("verdict %+v, want not recovered (%s) at %s:10", v, tt.reason, pos.Epoch)
			}
			if o := g.offsets("user:5"); !equal(o, seq(8, 10)) {
				t.Errorf("got offsets %v, want the newest kept 8..10", o)
			}
		})
	}
}

// A device that never sends op 26 gets goim's frames, byte for byte,
// with history on for its user and room.
func TestNoResumeMeansGoimFrames(t *testing.T) {
	cl := newCluster(t, nil, withHistory(100))
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.send(protocol.OpAuth, 1, token(3, "k3", []string{"live://3"}, 1000))
	c.read()
	cl.pushUser(t, 3, "k3", "hello")
	want := protocol.AppendFrame(nil, 1, 1000, 0, []byte("hello"))
	if b := c.readRaw(len(want)); !bytes.Equal(b, want) {
		t.Fatalf("keyed push bytes %x, want %x", b, want)
	}
	cl.pushRoom(t, "3", "room")
	want = protocol.AppendFrame(nil, 1, 1000, 0, []byte("room"))
	if b := c.readRaw(len(want)); !bytes.Equal(b, want) {
		t.Fatalf("room push bytes %x, want %x", b, want)
	}
}

func TestAckMovesWhereAFreshDeviceStarts(t *testing.T) {
	cl := newCluster(t, nil, withHistory(100))
	var pos *common.StreamPos
	for i := 1; i <= 6; i++ {
		pos = cl.pushUser(t, 11, "a", fmt.Sprint("u", i))
	}
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.send(protocol.OpResume, 1, resumeBody(t, protocol.StreamPos{Stream: "user:11", Epoch: pos.Epoch, Offset: 6}))
	c.send(protocol.OpAuth, 2, token(11, "a", nil, 1000))
	var g got
	c.readUntil(t, &g, func(g *got) bool { return len(g.verdicts) > 0 })
	ack, _ := json.Marshal(protocol.Ack{Epoch: pos.Epoch, Offset: 4})
	c.send(protocol.OpAck, 77, ack)
	for {
		f := c.read()
		if f.Op == protocol.OpAckReply {
			if f.Seq != 77 || len(f.Body) != 0 {
				t.Fatalf("ack reply seq %d body %q", f.Seq, f.Body)
			}
			break
		}
	}
	// Another device of the user, with no position of its own, starts
	// after what was acked.
	d := dialTCP(t, cl.edge.Addrs().TCP)
	d.send(protocol.OpResume, 1, resumeBody(t, protocol.StreamPos{Stream: "user:11"}))
	d.send(protocol.OpAuth, 2, token(11, "b", nil, 1000))
	g = got{}
	d.readUntil(t, &g, func(g *got) bool { return len(g.verdicts) > 0 })
	if o := g.offsets("user:11"); !equal(o, seq(5, 6)) || !g.verdicts[0].Recovered {
		t.Fatalf("fresh device got %v (%+v), want 5..6 after the ack", o, g.verdicts)
	}
}

func TestResumeRefusesMalformed(t *testing.T) {
	cl := newCluster(t, nil, withHistory(10))
	for name, frames := range map[string][][2][]byte{
		"bad json":          {{[]byte{26}, []byte("{")}},
		"twice before auth": {{[]byte{26}, []byte(`{"streams":[]}`)}, {[]byte{26}, []byte(`{"streams":[]}`)}},
		// More streams than a connection can follow (max_rooms 16 + its
		// user): refused before anything is read from history.
		// The auth after it would be answered if the op 26 were taken.
		"too many streams": {{[]byte{26}, manyStreams(18)}, {[]byte{7}, token(1, "k-many", nil, 1000)}},
	} {
		t.Run(name, func(t *testing.T) {
			c := dialTCP(t, cl.edge.Addrs().TCP)
			for _, f := range frames {
				c.send(int32(f[0][0]), 1, f[1])
			}
			c.expectClosed()
		})
	}
}

// Pushes that arrive while a recovery reads are held, up to
// resume_buffer; one more closes the connection.
func TestResumeBufferOverflowCloses(t *testing.T) {
	srv := newUnitServer(t, func(c *Config) { c.ResumeBuffer = 2 })
	tr := &recTransport{}
	s := publishedSession(srv, "k", tr, 1000)
	s.mid = 1
	s.beginResume(map[string]bool{"user:1": true})
	pos := []*common.StreamPos{{Stream: "user:1", Epoch: "e", Offset: 1}}
	for i := range 3 {
		pos[0].Offset = int64(i + 1)
		ok := s.offer([]byte("plain"), s.keyedForm(pos, 1000, []byte("x")), 1000, true, false)
		if want := i < 2; ok != want {
			t.Fatalf("offer %d = %v, want %v", i, ok, want)
		}
	}
	eventually(t, "the connection closed", tr.isClosed)
}

// posForm.after drops exactly the frames recovery delivered.
func TestPosFormAfter(t *testing.T) {
	b := protocol.NewBatch(0)
	var marks []posMark
	add := func(stream, epoch string, off int64, body string) {
		m := posMark{stream: stream, epoch: epoch, offset: off, start: b.Size()}
		if stream == "" {
			b.Add(1000, []byte(body))
		} else {
			b.AddPositioned(stream, epoch, off, 1000, []byte(body))
		}
		m.end = b.Size()
		marks = append(marks, m)
	}
	add("room:live://1", "e", 4, "a")
	add("", "", 0, "plain")
	add("room:live://1", "e", 5, "b")
	add("room:live://1", "e", 6, "c")
	pf := &posForm{frame: b.Raw(), raw: true, marks: marks}
	bodies := func(raw []byte) []string {
		var out []string
		_ = protocol.SplitRaw(raw[protocol.HeaderLen:], func(f protocol.Frame) error {
			if f.Op == protocol.OpPositioned {
				p, _ := protocol.ParsePositioned(f.Body)
				out = append(out, string(p.Body))
			} else {
				out = append(out, string(f.Body))
			}
			return nil
		})
		return out
	}
	for _, tt := range []struct {
		name string
		last map[string]streamAt
		want []string
	}{
		{"nothing recovered", nil, []string{"a", "plain", "b", "c"}},
		{"up to 5", map[string]streamAt{"room:live://1": {"e", 5}}, []string{"plain", "c"}},
		{"other epoch kept", map[string]streamAt{"room:live://1": {"f", 9}}, []string{"a", "plain", "b", "c"}},
		{"all", map[string]streamAt{"room:live://1": {"e", 6}}, []string{"plain"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := pf.after(tt.last)
			if got := bodies(out); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("kept %v, want %v", got, tt.want)
			}
			if f, err := protocol.DecodeMessage(out, len(out)); err != nil || f.Op != protocol.OpRaw {
				t.Fatalf("not one op-9 frame: %v", err)
			}
		})
	}
}

func equal(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// One room flush reaches a plain member as goim's batch and a positioned
// member as op-28 frames, with the room stream's offsets.
func TestRoomFlushServesBothForms(t *testing.T) {
	cl := newCluster(t, nil, withHistory(100))
	plain := dialTCP(t, cl.edge.Addrs().TCP)
	plain.send(protocol.OpAuth, 1, token(21, "plain", []string{"live://5"}, 1000))
	plain.read()
	pos := dialTCP(t, cl.edge.Addrs().TCP)
	pos.send(protocol.OpResume, 1, resumeBody(t, protocol.StreamPos{Stream: "room:live://5"}))
	pos.send(protocol.OpAuth, 2, token(22, "pos", []string{"live://5"}, 1000))
	var g got
	pos.readUntil(t, &g, func(g *got) bool { return len(g.verdicts) > 0 })
	p1 := cl.pushRoom(t, "5", "one")
	cl.pushRoom(t, "5", "two")
	for _, body := range []string{"one", "two"} {
		want := protocol.AppendFrame(nil, 1, 1000, 0, []byte(body))
		if b := plain.readRaw(len(want)); !bytes.Equal(b, want) {
			t.Fatalf("plain member read %x, want %x", b, want)
		}
	}
	g = got{}
	pos.readUntil(t, &g, func(g *got) bool { return len(g.msgs) == 2 })
	if o := g.offsets("room:live://5"); !equal(o, []int64{p1.Offset, p1.Offset + 1}) || string(g.msgs[1].Body) != "two" {
		t.Fatalf("positioned member read %+v", g.msgs)
	}
}

// After a recovery, live frames the recovery already covered (a room batch
// pending when the device joined, a call in flight) are dropped; the
// first frame beyond it passes and ends the filtering.
func TestResumeFloorDropsWhatRecoveryCovered(t *testing.T) {
	srv := newUnitServer(t, nil)
	tr := &recTransport{}
	s := publishedSession(srv, "k", tr, 1000)
	s.mid = 1
	s.beginResume(map[string]bool{"user:1": true})
	s.finishResume([]protocol.StreamVerdict{{Stream: "user:1"}}, []int{0},
		[]*logic.ResumedStream{{Position: &common.StreamPos{Stream: "user:1", Epoch: "e", Offset: 5}, Recovered: true}}, 1, 1)
	eventually(t, "the verdict", func() bool { return len(tr.written()) == 1 })
	offer := func(epoch string, off int64) {
		pos := []*common.StreamPos{{Stream: "user:1", Epoch: epoch, Offset: off}}
		if !s.offer([]byte("plain"), s.keyedForm(pos, 1000, []byte(fmt.Sprint(off))), 1000, true, false) {
			t.Fatalf("offer %d refused", off)
		}
	}
	offer("e", 4)
	offer("e", 5)
	offer("e", 6)
	offer("e", 7)
	eventually(t, "6 and 7", func() bool { return len(tr.written()) == 3 })
	for i, want := range []string{"6", "7"} {
		f, err := protocol.DecodeMessage(tr.written()[i+1], len(tr.written()[i+1]))
		if err != nil {
			t.Fatal(err)
		}
		p, err := protocol.ParsePositioned(f.Body)
		if err != nil || string(p.Body) != want {
			t.Fatalf("frame %d: %+v, %v; want %s", i, p, err, want)
		}
	}
}

// manyStreams is an op-26 body naming n distinct room streams.
func manyStreams(n int) []byte {
	var req protocol.ResumeRequest
	for i := range n {
		req.Streams = append(req.Streams, protocol.StreamPos{Stream: fmt.Sprintf("room:live://%d", i)})
	}
	b, _ := json.Marshal(req)
	return b
}
