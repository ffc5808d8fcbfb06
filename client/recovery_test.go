package client

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// These tests run the SDK's recovery against fakeRecoveryServer (see
// fakerecovery_test.go): the real server side of ops 26–30 is not on this
// branch yet. recovery_server_test.go runs the same flows against the
// real standalone server once it is (build tag recoveryserver).

// msgKey is "stream@offset:body" for a positioned message, "op:body" for
// a plain one.
func msgKey(m Message) string {
	if m.Stream == "" {
		return fmt.Sprintf("%d:%s", m.Op, m.Body)
	}
	return fmt.Sprintf("%s@%d:%s", m.Stream, m.Offset, m.Body)
}

func msgKeys(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = msgKey(m)
	}
	return out
}

// waitMsgs waits until the inbox holds exactly want (in order).
func (b *inbox) waitMsgs(t *testing.T, want ...string) {
	t.Helper()
	b.waitFor(t, 10*time.Second, fmt.Sprintf("messages %v", want), func(msgs []Message, _ []Event) bool {
		return len(msgs) >= len(want)
	})
	b.mu.Lock()
	got := msgKeys(b.msgs)
	b.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("messages\n got %v\nwant %v", got, want)
	}
}

// resumed returns the n-th Resumed event (1-based), waiting for it.
func (b *inbox) resumed(t *testing.T, n int) Event {
	t.Helper()
	var got Event
	b.waitFor(t, 10*time.Second, fmt.Sprintf("resumed event #%d", n), func(_ []Message, events []Event) bool {
		k := 0
		for _, e := range events {
			if e.State == Resumed {
				if k++; k == n {
					got = e
					return true
				}
			}
		}
		return false
	})
	return got
}

func verdictOf(t *testing.T, e Event, stream string) protocol.StreamVerdict {
	t.Helper()
	for _, v := range e.Verdicts {
		if v.Stream == stream {
			return v
		}
	}
	t.Fatalf("no verdict for %s in %+v", stream, e.Verdicts)
	return protocol.StreamVerdict{}
}

func posOf(c *Client, stream string) protocol.StreamPos {
	for _, p := range c.Positions() {
		if p.Stream == stream {
			return p
		}
	}
	return protocol.StreamPos{Stream: stream}
}

// TestRecoveryResumeBeforeAuth: with positions from a previous run the
// client sends op 26, listing them (the user stream first, and a stream
// to follow without a position), as the very first frame, right before
// op 7; it gets the messages after each position, oldest first, then
// the verdicts as a Resumed event; then live pushes; Positions reports
// where it stands.
func TestRecoveryResumeBeforeAuth(t *testing.T) {
	srv := newFakeRecoveryServer(t)
	for _, tr := range []struct{ name, addr string }{{"tcp", srv.tcpAddr()}, {"ws", srv.wsURL()}} {
		t.Run(tr.name, func(t *testing.T) {
			mid := int64(7)
			if tr.name == "ws" {
				mid = 8
			}
			user, room, other, extra := protocol.UserStream(mid), protocol.RoomStream("live://1"+tr.name), protocol.RoomStream("live://9"), protocol.RoomStream("live://2"+tr.name)
			srv.keep(user, 1000, "u1", "u2", "u3", "u4")
			srv.keep(room, 1001, "r1", "r2", "r3")
			srv.keep(extra, 1002, "x1")
			before := srv.conns0()
			cl, b := dialInbox(t, Options{
				Addrs: []string{tr.addr},
				Token: JSONToken{Mid: mid, RoomID: "live://1" + tr.name, Rooms: []string{"live://2" + tr.name}, Accepts: []int32{1000}}.Bytes(),
				Recovery: &RecoveryOptions{
					Positions: []protocol.StreamPos{
						{Stream: room, Epoch: srv.epoch(room), Offset: 1},
						{Stream: user, Epoch: srv.epoch(user), Offset: 2},
						{Stream: other, Epoch: "e0", Offset: 5},
					},
					Streams: []string{extra},
				},
			})
			ev := b.resumed(t, 1)
			b.waitMsgs(t, user+"@3:u3", user+"@4:u4", room+"@2:r2", room+"@3:r3", extra+"@1:x1")
			l := srv.connLog(before)
			if len(l.ops) < 2 || l.ops[0] != protocol.OpResume || l.ops[1] != protocol.OpAuth {
				t.Fatalf("first frames %v, want op 26 then op 7", l.ops)
			}
			got, _ := json.Marshal(l.resumes[0])
			want := fmt.Sprintf(`{"streams":[{"stream":%q,"epoch":%q,"offset":2},{"stream":%q,"epoch":%q,"offset":1},{"stream":%q},{"stream":"room:live://9","epoch":"e0","offset":5}]}`,
				user, srv.epoch(user), room, srv.epoch(room), extra)
			if string(got) != want {
				t.Fatalf("resume request\n got %s\nwant %s", got, want)
			}
			if v := verdictOf(t, ev, user); !v.Recovered || v.Count != 2 || v.Offset != 4 {
				t.Fatalf("user verdict %+v", v)
			}
			if v := verdictOf(t, ev, other); v.Recovered || v.Reason != protocol.ReasonNotFollowed {
				t.Fatalf("not followed stream: verdict %+v", v)
			}
			if cl.State() != Connected {
				t.Fatalf("state %v after the verdicts, want connected", cl.State())
			}
			// The verdict event came after the recovered messages.
			b.mu.Lock()
			var order []string
			for _, e := range b.events {
				order = append(order, e.State.String())
			}
			b.mu.Unlock()
			if !slices.Equal(order, []string{"connected", "resumed"}) {
				t.Fatalf("events %v", order)
			}

			// Live pushes arrive positioned; Message fields carry the push.
			srv.push(user, 1000, "u5")
			m := b.expect(t, 1000, "u5")
			if m.Stream != user || m.Epoch != srv.epoch(user) || m.Offset != 5 || m.Op != 1000 {
				t.Fatalf("live message %+v", m)
			}
			b.waitFor(t, 10*time.Second, "positions", func([]Message, []Event) bool { return posOf(cl, user).Offset == 5 })
			if p := posOf(cl, room); p.Offset != 3 || p.Epoch != srv.epoch(room) {
				t.Fatalf("room position %+v", p)
			}
			if st := cl.Stats(); st.Positioned != 6 || st.Duplicates != 0 {
				t.Fatalf("stats %+v", st)
			}
			closeClient(t, cl)
		})
	}
}

// TestRecoveryDedupAndReconnect: duplicates (the same or an older offset
// in the epoch, e.g. a live push that a later resume recovers again) are
// dropped and counted; after the connection is lost the next one resumes
// from the last positions received, so what was pushed meanwhile arrives
// once, with no gap; a stream whose history was lost reports reason
// epoch and the client moves to the new epoch.
func TestRecoveryDedupAndReconnect(t *testing.T) {
	srv := newFakeRecoveryServer(t)
	user, room := protocol.UserStream(21), protocol.RoomStream("live://21")
	cl, b := dialInbox(t, Options{
		Addrs:    []string{srv.wsURL()},
		Token:    JSONToken{Mid: 21, RoomID: "live://21", Accepts: []int32{1000}}.Bytes(),
		Backoff:  fastBackoff,
		Recovery: &RecoveryOptions{Mid: 21, Streams: []string{room}},
	})
	if v := verdictOf(t, b.resumed(t, 1), room); v.Reason != protocol.ReasonNoHistory {
		t.Fatalf("room verdict before any push %+v", v)
	}
	srv.push(user, 1000, "a1")
	srv.push(room, 1001, "b1")
	srv.push(user, 1000, "a2")
	// Duplicates: offset 1 and 2 again, alone and inside a batch.
	srv.sendAll(protocol.AppendPositioned(nil, user, srv.epoch(user), 1, 1000, []byte("a1")))
	srv.sendAll(batch(protocol.AppendPositioned(nil, user, srv.epoch(user), 2, 1000, []byte("a2")),
		protocol.AppendPositioned(nil, room, srv.epoch(room), 2, 1001, []byte("b2"))))
	srv.keep(room, 1001, "b2") // the batch's b2 is the stream's offset 2
	b.waitMsgs(t, user+"@1:a1", room+"@1:b1", user+"@2:a2", room+"@2:b2")
	if st := cl.Stats(); st.Duplicates != 2 || st.Positioned != 4 {
		t.Fatalf("stats %+v, want 2 duplicates of 6", st)
	}

	// Two more messages the device will miss, and the room loses its
	// history (a new epoch with one message); then the edge dies.
	roomEpoch := srv.epoch(room)
	srv.keep(user, 1000, "a3", "a4")
	srv.lose(room, "feed")
	srv.keep(room, 1001, "c1")
	srv.kick()
	b.waitConnected(t, 2)
	ev := b.resumed(t, 2)
	b.waitMsgs(t, user+"@1:a1", room+"@1:b1", user+"@2:a2", room+"@2:b2", user+"@3:a3", user+"@4:a4", room+"@1:c1")
	l := srv.connLog(1)
	if l.ops[0] != protocol.OpResume || l.ops[1] != protocol.OpAuth {
		t.Fatalf("reconnect: first frames %v", l.ops)
	}
	want := []protocol.StreamPos{{Stream: user, Epoch: srv.epoch(user), Offset: 2}, {Stream: room, Epoch: roomEpoch, Offset: 2}}
	if !slices.Equal(l.resumes[0].Streams, want) {
		t.Fatalf("reconnect resumed %+v, want %+v", l.resumes[0].Streams, want)
	}
	if v := verdictOf(t, ev, room); v.Recovered || v.Reason != protocol.ReasonEpoch || v.Epoch != "feed" {
		t.Fatalf("room verdict %+v, want reason epoch", v)
	}
	b.waitFor(t, 10*time.Second, "positions after the verdict", func([]Message, []Event) bool {
		return posOf(cl, room) == protocol.StreamPos{Stream: room, Epoch: "feed", Offset: 1} && posOf(cl, user).Offset == 4
	})
	// Live in the new epoch continues; the old epoch's offsets are not
	// taken for duplicates.
	srv.push(room, 1001, "c2")
	b.expect(t, 1001, "c2")
	closeClient(t, cl)
}

// TestRecoveryPositionsAcrossRestart: a second client built from the
// first one's Positions (a process restart) resumes where it stopped.
func TestRecoveryPositionsAcrossRestart(t *testing.T) {
	srv := newFakeRecoveryServer(t)
	user := protocol.UserStream(31)
	o := Options{Addrs: []string{srv.tcpAddr()}, Token: JSONToken{Mid: 31}.Bytes(), Recovery: &RecoveryOptions{Mid: 31}}
	cl, b := dialInbox(t, o)
	srv.push(user, 1000, "m1")
	srv.push(user, 1000, "m2")
	b.waitMsgs(t, user+"@1:m1", user+"@2:m2")
	saved, _ := json.Marshal(cl.Positions())
	closeClient(t, cl)

	srv.keep(user, 1000, "m3")
	var restored []protocol.StreamPos
	if err := json.Unmarshal(saved, &restored); err != nil {
		t.Fatal(err)
	}
	o.Recovery = &RecoveryOptions{Positions: restored}
	cl2, b2 := dialInbox(t, o)
	b2.waitMsgs(t, user+"@3:m3")
	if v := verdictOf(t, b2.resumed(t, 1), user); !v.Recovered || v.Count != 1 {
		t.Fatalf("verdict %+v", v)
	}
	closeClient(t, cl2)
}

// TestRecoveryJoinedRoomResumedAfterJoin: a room joined with JoinRoom is
// not followed at auth, so on a reconnect the client leaves it out of
// the op 26 before auth and resumes it right after the replay joined it
// again; a room left is forgotten.
func TestRecoveryJoinedRoomResumedAfterJoin(t *testing.T) {
	srv := newFakeRecoveryServer(t)
	joined, left := protocol.RoomStream("chat://1"), protocol.RoomStream("chat://2")
	cl, b := dialInbox(t, Options{
		Addrs:    []string{srv.tcpAddr()},
		Token:    JSONToken{Mid: 41}.Bytes(),
		Backoff:  fastBackoff,
		Recovery: &RecoveryOptions{Mid: 41},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range []string{"chat://1", "chat://2"} {
		if err := cl.JoinRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	srv.push(joined, 1001, "j1")
	srv.push(left, 1001, "l1")
	b.waitMsgs(t, joined+"@1:j1", left+"@1:l1")
	if err := cl.LeaveRoom(ctx, "chat://2"); err != nil {
		t.Fatal(err)
	}
	if p := posOf(cl, left); p.Epoch != "" {
		t.Fatalf("left room still has a position %+v", p)
	}
	srv.keep(joined, 1001, "j2") // missed while away
	srv.kick()
	b.waitConnected(t, 2)
	srv.waitFor("the joined room's resume after auth", func() bool {
		return len(srv.log) > 1 && len(srv.log[1].resumes) == 2
	})
	l := srv.connLog(1)
	pre, post := l.resumes[0].Streams, l.resumes[1].Streams
	if slices.ContainsFunc(pre, func(p protocol.StreamPos) bool { return p.Stream == joined || p.Stream == left }) {
		t.Fatalf("resume before auth named a joined or left room: %+v", pre)
	}
	if len(post) != 1 || post[0].Stream != joined || post[0].Offset != 1 {
		t.Fatalf("resume after the join %+v", post)
	}
	j := -1
	for k, op := range l.ops {
		if op == protocol.OpResume {
			j = k
		}
	}
	if i := slices.Index(l.ops, protocol.OpJoinRoom); i < 0 || j < i {
		t.Fatalf("ops %v: want the second op 26 after the op 22", l.ops)
	}
	b.waitMsgs(t, joined+"@1:j1", left+"@1:l1", joined+"@2:j2")
	closeClient(t, cl)
}

// TestRecoveryVerdictUnavailableAndResume: a stream the server can not
// recover now reports unavailable; the position is kept and Resume asks
// again.
func TestRecoveryVerdictUnavailableAndResume(t *testing.T) {
	srv := newFakeRecoveryServer(t)
	user := protocol.UserStream(51)
	srv.keep(user, 1000, "v1", "v2")
	srv.mu.Lock()
	srv.unavailable[user] = true
	srv.mu.Unlock()
	cl, b := dialInbox(t, Options{
		Addrs:    []string{srv.tcpAddr()},
		Token:    JSONToken{Mid: 51}.Bytes(),
		Recovery: &RecoveryOptions{Positions: []protocol.StreamPos{{Stream: user, Epoch: srv.epoch(user), Offset: 1}}},
	})
	if v := verdictOf(t, b.resumed(t, 1), user); v.Recovered || v.Reason != protocol.ReasonUnavailable {
		t.Fatalf("verdict %+v", v)
	}
	if p := posOf(cl, user); p.Offset != 1 {
		t.Fatalf("position after unavailable %+v, want kept", p)
	}
	srv.mu.Lock()
	srv.unavailable[user] = false
	srv.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if v := verdictOf(t, b.resumed(t, 2), user); !v.Recovered || v.Count != 1 {
		t.Fatalf("verdict on retry %+v", v)
	}
	b.waitMsgs(t, user+"@2:v2")
	closeClient(t, cl)
}

// TestRecoveryAutoAck counts the ack frames: one after every 100
// processed messages of the user stream (room messages are not acked),
// then, for the rest, one when AckInterval has passed since the first
// unacked message; each names the highest offset whose callback returned.
// A user stream resumed without a position starts after the user's ack.
func TestRecoveryAutoAck(t *testing.T) {
	srv := newFakeRecoveryServer(t)
	user, room := protocol.UserStream(61), protocol.RoomStream("live://61")
	o := Options{
		Addrs: []string{srv.tcpAddr()},
		Token: JSONToken{Mid: 61, RoomID: "live://61"}.Bytes(),
		// An interval no test outlives: only the count acks.
		Recovery: &RecoveryOptions{Mid: 61, AutoAck: true, AckInterval: time.Hour},
	}
	cl, b := dialInbox(t, o)
	if r := srv.connLog(0).resumes[0].Streams; len(r) != 1 || r[0] != (protocol.StreamPos{Stream: user}) {
		t.Fatalf("resume with AutoAck and no position %+v, want the user stream alone", r)
	}
	for round := 1; round <= 2; round++ {
		for i := 0; i < 100; i++ {
			srv.push(user, 1000, "m")
			srv.push(room, 1001, "r")
		}
		srv.waitFor(fmt.Sprintf("ack #%d", round), func() bool { return len(srv.acks) == round })
	}
	for i := 0; i < 50; i++ {
		srv.push(user, 1000, "m")
	}
	b.waitFor(t, 10*time.Second, "250 user messages", func([]Message, []Event) bool { return posOf(cl, user).Offset == 250 })
	want := []protocol.Ack{{Epoch: srv.epoch(user), Offset: 100}, {Epoch: srv.epoch(user), Offset: 200}}
	if got := srv.ackList(); !slices.Equal(got, want) {
		t.Fatalf("acks %+v, want %+v", got, want)
	}
	// A manual ack is one more frame, answered by op 30.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Ack(ctx, srv.epoch(user), 250); err != nil {
		t.Fatal(err)
	}
	// The second auto ack's reply may still be on its way.
	for deadline := time.Now().Add(10 * time.Second); cl.Stats().Acks != 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want 3 acks", cl.Stats())
		}
	}
	if n := len(srv.ackList()); n != 3 {
		t.Fatalf("%d ack frames, want 3", n)
	}
	closeClient(t, cl)

	// Another device of the user, with no position: it starts after the
	// ack (250); the interval acks the few it processes, once.
	srv.keep(user, 1000, "n1", "n2", "n3")
	release := make(chan struct{})
	o.Recovery = &RecoveryOptions{Mid: 61, AutoAck: true, AckInterval: 300 * time.Millisecond}
	b2 := newInbox()
	first := true
	o.OnMessage = func(m Message) {
		if first {
			// Hold the first callback until all three are queued, so the
			// interval (armed when it returns) covers them all.
			first = false
			<-release
		}
		b2.onMessage(m)
	}
	o.OnState = b2.onState
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	cl2, err := Dial(dctx, o)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the reader queued the other two and the verdicts behind
	// the held first one: then they are processed at once after it.
	for deadline := time.Now().Add(10 * time.Second); len(cl2.items) < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d items queued, want 3", len(cl2.items))
		}
	}
	close(release)
	b2.waitMsgs(t, user+"@251:n1", user+"@252:n2", user+"@253:n3")
	srv.waitFor("the interval ack", func() bool { return len(srv.acks) == 4 })
	if got := srv.ackList()[3]; got.Offset != 253 {
		t.Fatalf("interval ack %+v, want offset 253", got)
	}
	closeClient(t, cl2)
}

// TestRecoveryOff: without Options.Recovery nothing of the extension is
// sent, and positions stay empty.
func TestRecoveryOff(t *testing.T) {
	srv := newFakeRecoveryServer(t)
	cl, b := dialInbox(t, Options{Addrs: []string{srv.tcpAddr()}, Token: JSONToken{Mid: 71}.Bytes()})
	srv.push(protocol.UserStream(71), 1000, "plain")
	b.waitMsgs(t, "1000:plain")
	if ops := srv.connLog(0).ops; ops[0] != protocol.OpAuth {
		t.Fatalf("ops %v", ops)
	}
	if p := cl.Positions(); len(p) != 0 {
		t.Fatalf("positions %+v", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Resume(ctx); err == nil || !strings.Contains(err.Error(), "Recovery") {
		t.Fatalf("Resume without Recovery: %v", err)
	}
	closeClient(t, cl)
}

// conns0 is how many connections the server has seen.
func (s *fakeRecoveryServer) conns0() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

func TestResumeBodyFitsAFrame(t *testing.T) {
	var list []protocol.StreamPos
	for i := 0; i < 200; i++ {
		list = append(list, protocol.StreamPos{Stream: fmt.Sprintf("room:live://%04d", i), Epoch: "0123456789abcdef", Offset: 1 << 40})
	}
	b := resumeBody(list)
	if len(b) > protocol.MaxBodySize {
		t.Fatalf("%d bytes", len(b))
	}
	var r protocol.ResumeRequest
	if err := json.Unmarshal(b, &r); err != nil || len(r.Streams) == 0 || r.Streams[0] != list[0] {
		t.Fatalf("%v %d streams", err, len(r.Streams))
	}
	if got := string(resumeBody(nil)); got != `{"streams":[]}` {
		t.Fatalf("empty list: %s", got)
	}
}

func TestHandleMalformedPositioned(t *testing.T) {
	s, c := testSession()
	defer c.cancel()
	if err := s.handle(protocol.Frame{Op: protocol.OpPositioned, Body: []byte{1, 2}}, false); err == nil {
		t.Fatal("short op-28 body accepted")
	}
	if err := s.handle(protocol.Frame{Op: protocol.OpResumeReply, Body: []byte("{")}, false); err == nil {
		t.Fatal("bad op-27 body accepted")
	}
}
