package client

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/goim-edge/goim-edge/internal/testenv"

	"github.com/goim-edge/goim-edge/protocol"
)

// The JavaScript SDK's recovery (clients/js/goim.js) in headless Chromium
// against fakeRecoveryServer, which also serves the module and an empty
// page on its origin. They live here, next to the fake server, because
// the real server side of ops 26–30 is not on this branch yet; the same
// flow against the real server is e2e's
// TestRecoveryServerSDKInChromium (build tag recoveryserver).

// jsPage starts a fresh headless Chromium on the fake server's page.
func jsPage(t *testing.T, srv *fakeRecoveryServer) context.Context {
	t.Helper()
	ctx := testenv.Browser(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.web.URL+"/")); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// js evaluates expr in the page (awaiting a promise).
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// jsWait polls cond in the page until it holds (10 s), failing with the
// client's log.
func jsWait(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.log)`))
		t.Fatalf("%s: %v (log: %s)", what, err, got)
	}
}

// jsMsgs is the page's messages as msgKey spells them.
func jsMsgs(t *testing.T, ctx context.Context) []string {
	return js[[]string](t, ctx, `window.log.msgs`)
}

func TestJSParsePositionedInChromium(t *testing.T) {
	srv := newFakeRecoveryServer(t)
	ctx := jsPage(t, srv)
	f := protocol.AppendPositioned(nil, "room:live://1", "0123abcd", 1<<40, 1001, []byte("héllo"))
	body, _ := json.Marshal(f[protocol.HeaderLen:])
	got := js[string](t, ctx, fmt.Sprintf(`import('/goim.js').then((m) => {
		const b = Uint8Array.from(atob(%s), (c) => c.charCodeAt(0));
		const p = m.parsePositioned(b);
		const bad = [b.subarray(0, 10), b.subarray(0, 20)].map((x) => m.parsePositioned(x));
		return [p.op, p.offset, p.stream, p.epoch, new TextDecoder().decode(p.body), String(bad)].join('|');
	})`, body))
	if want := "1001|1099511627776|room:live://1|0123abcd|héllo|,"; got != want {
		t.Fatalf("parsePositioned: %s, want %s", got, want)
	}
}

// TestJSRecoveryInChromium: resume before auth with persisted positions
// (op 26 then op 7), recovered messages then the 'resumed' verdicts,
// live positioned pushes, duplicates dropped and counted, a reconnect
// that resumes from the last positions, a joined room resumed after its
// join, positions() and batched auto acks (counted on the server).
func TestJSRecoveryInChromium(t *testing.T) {
	srv := newFakeRecoveryServer(t)
	ctx := jsPage(t, srv)
	user, room, joined := protocol.UserStream(81), protocol.RoomStream("live://81"), protocol.RoomStream("chat://81")
	srv.keep(user, 1000, "u1", "u2", "u3")
	srv.keep(room, 1001, "r1")
	js[bool](t, ctx, fmt.Sprintf(`import('/goim.js').then((m) => {
		const log = { msgs: [], resumed: [], states: [], errors: [] };
		const c = new m.GoimClient({
			url: %q,
			token: { mid: 81, room_id: 'live://81', accepts: [1000] },
			resume: true,
			positions: [{ stream: %q, epoch: %q, offset: 1 }],
			streams: [%q],
			autoAck: true, ackEvery: 2, ackIntervalMs: 3600000,
			backoff: { baseMs: 50, maxMs: 200 },
		});
		c.on('message', (f) => log.msgs.push(f.stream ? f.stream + '@' + f.offset + ':' + f.text() : f.op + ':' + f.text()));
		c.on('resumed', (e) => log.resumed.push(e.streams));
		c.on('state', (e) => log.states.push(e.state));
		c.on('error', (e) => log.errors.push(String(e.message || e)));
		window.c = c; window.log = log;
		c.connect();
		return true;
	})`, srv.wsURL(), user, srv.epoch(user), room))
	jsWait(t, ctx, "the first verdicts", `window.log.resumed.length === 1`)
	if got, want := jsMsgs(t, ctx), []string{user + "@2:u2", user + "@3:u3", room + "@1:r1"}; !slices.Equal(got, want) {
		t.Fatalf("recovered %v, want %v", got, want)
	}
	l := srv.connLog(0)
	if l.ops[0] != protocol.OpResume || l.ops[1] != protocol.OpAuth {
		t.Fatalf("first frames %v, want op 26 then op 7", l.ops)
	}
	wantReq := []protocol.StreamPos{{Stream: user, Epoch: srv.epoch(user), Offset: 1}, {Stream: room}}
	if !slices.Equal(l.resumes[0].Streams, wantReq) {
		t.Fatalf("resume %+v, want %+v", l.resumes[0].Streams, wantReq)
	}
	if got := js[string](t, ctx, `JSON.stringify(window.log.resumed[0].map((v) => [v.stream, v.recovered, v.count]))`); got != fmt.Sprintf(`[[%q,true,2],[%q,true,1]]`, user, room) {
		t.Fatalf("verdicts %s", got)
	}
	// Two user messages processed: one ack (ackEvery 2) with offset 3.
	srv.waitFor("the first ack", func() bool { return len(srv.acks) == 1 })

	// Live, then duplicates (alone and in a batch) that are dropped.
	srv.push(user, 1000, "u4")
	srv.sendAll(protocol.AppendPositioned(nil, user, srv.epoch(user), 4, 1000, []byte("u4")))
	srv.sendAll(batch(protocol.AppendPositioned(nil, user, srv.epoch(user), 3, 1000, []byte("u3")),
		protocol.AppendPositioned(nil, room, srv.epoch(room), 1, 1001, []byte("r1"))))
	srv.push(user, 1000, "u5")
	jsWait(t, ctx, "live pushes", `window.log.msgs.length === 5`)
	// Acks: offset 3 (u2, u3) and 5 (u4, u5); the second may be on its way.
	jsWait(t, ctx, "stats", `JSON.stringify(window.c.stats()) === '{"positioned":5,"duplicates":3,"acks":2}'`)
	if got := srv.ackList(); len(got) != 2 || got[0].Offset != 3 || got[1].Offset != 5 {
		t.Fatalf("acks %+v, want offsets 3 and 5", got)
	}

	// Join a room, then lose the connection; meanwhile messages are kept
	// for the user and the joined room.
	if got := js[string](t, ctx, `window.c.joinRoom('chat://81')`); got != "chat://81" {
		t.Fatalf("joinRoom %q", got)
	}
	srv.push(joined, 1002, "j1")
	jsWait(t, ctx, "push to the joined room", fmt.Sprintf(`window.log.msgs.includes(%q)`, joined+"@1:j1"))
	srv.keep(user, 1000, "u6")
	srv.keep(joined, 1002, "j2")
	srv.kick()
	srv.waitFor("the reconnect's resume of the joined room", func() bool {
		return len(srv.log) > 1 && len(srv.log[1].resumes) == 2
	})
	jsWait(t, ctx, "recovered after the reconnect", fmt.Sprintf(`window.log.msgs.includes(%q) && window.log.msgs.includes(%q)`, user+"@6:u6", joined+"@2:j2"))
	l = srv.connLog(1)
	pre, post := l.resumes[0].Streams, l.resumes[1].Streams
	wantPre := []protocol.StreamPos{{Stream: user, Epoch: srv.epoch(user), Offset: 5}, {Stream: room, Epoch: srv.epoch(room), Offset: 1}}
	if l.ops[0] != protocol.OpResume || l.ops[1] != protocol.OpAuth || !slices.Equal(pre, wantPre) {
		t.Fatalf("reconnect: ops %v, resume before auth %+v, want %+v", l.ops, pre, wantPre)
	}
	if len(post) != 1 || post[0] != (protocol.StreamPos{Stream: joined, Epoch: srv.epoch(joined), Offset: 1}) {
		t.Fatalf("resume after the join %+v", post)
	}
	got := jsMsgs(t, ctx)
	if n := len(got); n != 8 || strings.Count(strings.Join(got, ","), "u6") != 1 {
		t.Fatalf("messages %v: want each once", got)
	}
	// positions() is what an app persists.
	want := fmt.Sprintf(`[{"stream":%q,"epoch":%q,"offset":2},{"stream":%q,"epoch":%q,"offset":1},{"stream":%q,"epoch":%q,"offset":6}]`,
		joined, srv.epoch(joined), room, srv.epoch(room), user, srv.epoch(user))
	if got := js[string](t, ctx, `JSON.stringify(window.c.positions())`); got != want {
		t.Fatalf("positions %s, want %s", got, want)
	}
	// A manual ack resolves on op 30.
	js[bool](t, ctx, fmt.Sprintf(`window.c.ack(%q, 6).then(() => true)`, srv.epoch(user)))
	acks := srv.ackList()
	if last := acks[len(acks)-1]; last.Offset != 6 {
		t.Fatalf("acks %+v", acks)
	}
	js[bool](t, ctx, `(window.c.close(), true)`)
}
