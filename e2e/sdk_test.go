package e2e

import (
	"context"
	"fmt"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// sdkPage opens the demo page (same origin as logic's HTTP API, so the
// SDK's node list request needs no CORS) and returns a context for it.
func sdkPage(t *testing.T, httpAddr string) context.Context {
	t.Helper()
	ctx := browser(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate("http://"+httpAddr+"/")); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// evalJS runs an expression in the page, awaiting a promise, and fails
// the test on a JavaScript error.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls a boolean expression in the page until it holds; on
// timeout it fails with what dump evaluates to.
func waitJS(t *testing.T, ctx context.Context, what, cond, dump string, d time.Duration) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, d+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(d))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](dump))
		t.Fatalf("%s: %v (page: %s)", what, err, got)
	}
}

// holdsJS reports whether cond holds in the page within d.
func holdsJS(ctx context.Context, cond string, d time.Duration) bool {
	c, cancel := context.WithTimeout(ctx, d+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(c, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(d)))
	return err == nil
}

// pushUntil pushes body until client name has received want, up to 10
// times 2 s: for pushes racing a state the client restores on its own.
func pushUntil(t *testing.T, ctx context.Context, httpAddr, route string, q url.Values, body, name, want string) {
	t.Helper()
	for i := 0; ; i++ {
		httpPush(t, httpAddr, route, q, body)
		if holdsJS(ctx, gotMsg(name, want), 2*time.Second) {
			return
		}
		if i == 9 {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](dumpClient(name)))
			t.Fatalf("%s never got %q (page: %s)", name, want, got)
		}
		t.Logf("%q not seen within 2s; pushing again", want)
	}
}

// startSDKClient creates a GoimClient in the page as window[name]; its
// messages ("op:text") and states ("state:code") are recorded in
// window[name+'Log'].
func startSDKClient(t *testing.T, ctx context.Context, name, opts string) {
	t.Helper()
	evalJS[bool](t, ctx, fmt.Sprintf(`(async () => {
		const m = await import('/demo/goim.js');
		const log = { msgs: [], states: [], errors: [] };
		const c = new m.GoimClient(%s);
		c.on('message', (f) => log.msgs.push(f.op + ':' + f.text()));
		c.on('state', (e) => log.states.push(e.state + ':' + (e.code || '')));
		c.on('error', (e) => log.errors.push(String(e.message || e)));
		window[%q] = c; window[%q + 'Log'] = log;
		c.connect();
		return true;
	})()`, opts, name, name))
}

func gotMsg(name, msg string) string {
	return fmt.Sprintf(`window[%q + 'Log'].msgs.includes(%s)`, name, jsString(msg))
}

func dumpClient(name string) string {
	return fmt.Sprintf(`JSON.stringify({state: window[%[1]q].state, url: window[%[1]q].url, log: window[%[1]q + 'Log']})`, name)
}

// TestDemoSDKInChromium drives clients/js/goim.js in headless Chromium
// against a real standalone server: node selection from
// /goim/nodes/weighted, pushes to self by mid, key and room (op-9
// batches split), upstream send with its reply, room ops, a refused token
// that does not loop, and a reconnect after the server restarts on the
// same ports, with the changed room restored.
func TestDemoSDKInChromium(t *testing.T) {
	// An empty host_domain makes the web node list name the edge's own
	// address (127.0.0.1) instead of goim's "<node>.goim.io".
	extra := []string{"-set", "logic.nodes.host_domain="}
	p, a := startStandalone(t, extra...)
	ctx := sdkPage(t, a.http)

	startSDKClient(t, ctx, "dev", `{
		nodesURL: '/goim/nodes/weighted',
		token: { mid: 4242, key: 'sdk-key', room_id: 'live://77', accepts: [1000, 1001, 1002] },
		heartbeatMs: 2000,
		backoff: { baseMs: 500, maxMs: 2000 },
	}`)
	waitJS(t, ctx, "connect via the node list", `window.dev.state === 'ready'`, dumpClient("dev"), 20*time.Second)
	if got := evalJS[string](t, ctx, `window.dev.url`); got != "ws://"+a.ws+"/sub" {
		t.Fatalf("connected to %q, want the node list's ws://%s/sub", got, a.ws)
	}

	httpPush(t, a.http, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"4242"}}, "to-mid")
	waitJS(t, ctx, "push by mid", gotMsg("dev", "1000:to-mid"), dumpClient("dev"), 15*time.Second)
	httpPush(t, a.http, "/goim/push/keys", url.Values{"operation": {"1001"}, "keys": {"sdk-key"}}, "to-key")
	waitJS(t, ctx, "push by key", gotMsg("dev", "1001:to-key"), dumpClient("dev"), 15*time.Second)
	httpPush(t, a.http, "/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {"77"}}, "to-room")
	waitJS(t, ctx, "push to room (op-9 batch)", gotMsg("dev", "1002:to-room"), dumpClient("dev"), 15*time.Second)

	// Upstream send resolves on the edge's reply; heartbeats report the
	// room's online count.
	if got := evalJS[int](t, ctx, `window.dev.send('up').then((f) => f.op)`); got != 4 {
		t.Fatalf("send reply op %d, want 4", got)
	}
	waitJS(t, ctx, "heartbeat reply", `window.dev.online !== null`, dumpClient("dev"), 15*time.Second)

	// Room ops: change to live://78, join live://79, leave it again.
	if got := evalJS[string](t, ctx, `window.dev.changeRoom('live://78')`); got != "live://78" {
		t.Fatalf("changeRoom = %q", got)
	}
	evalJS[string](t, ctx, `window.dev.joinRoom('live://79')`)
	httpPush(t, a.http, "/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {"79"}}, "joined-79")
	waitJS(t, ctx, "push to a joined room", gotMsg("dev", "1002:joined-79"), dumpClient("dev"), 15*time.Second)
	evalJS[string](t, ctx, `window.dev.leaveRoom('live://79')`)
	if got := evalJS[string](t, ctx, `window.dev.joinRoom('').then(() => 'joined', (e) => e.code)`); got != "refused" {
		t.Fatalf("joinRoom('') = %q, want refused", got)
	}

	// Sub adds op 1003 to the accept set (the token had 1000-1002).
	if got := evalJS[string](t, ctx, `window.dev.sub([1003]).then((l) => l.join(','))`); got != "1003" {
		t.Fatalf("sub = %q", got)
	}
	httpPush(t, a.http, "/goim/push/keys", url.Values{"operation": {"1003"}, "keys": {"sdk-key"}}, "subscribed")
	waitJS(t, ctx, "push of a subscribed op", gotMsg("dev", "1003:subscribed"), dumpClient("dev"), 15*time.Second)

	// A refused token ("12a" is no mid) stops the client: one attempt,
	// state 'refused', no retry loop.
	startSDKClient(t, ctx, "bad", fmt.Sprintf(`{ url: 'ws://%s/sub', token: '{"mid":"12a"}', backoff: { baseMs: 100, maxMs: 200 } }`, a.ws))
	waitJS(t, ctx, "refused token", `window.bad.state === 'refused'`, dumpClient("bad"), 15*time.Second)

	// Stop the server and start it again on the same ports. SIGTERM
	// drains: the edge ends each WebSocket with close code 1001, which
	// the client takes as "reconnect elsewhere" (here the same address,
	// once the server is back). It waits with backoff, reconnects,
	// restores its room (live://78, not the token's 77) and subscription,
	// and gets pushes again.
	if err := p.stop(t, syscall.SIGTERM, 20*time.Second); err != nil {
		t.Fatalf("SIGTERM: exit %v", err)
	}
	waitJS(t, ctx, "close code 1001 from the draining edge", `window.devLog.states.includes('waiting:1001')`, dumpClient("dev"), 30*time.Second)
	restartStandalone(t, a, extra...)
	waitJS(t, ctx, "reconnect after restart",
		`window.dev.state === 'ready' && window.devLog.states.filter((s) => s.startsWith('ready')).length === 2`, dumpClient("dev"), 30*time.Second)
	httpPush(t, a.http, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"4242"}}, "after-restart")
	waitJS(t, ctx, "push after restart", gotMsg("dev", "1000:after-restart"), dumpClient("dev"), 15*time.Second)
	// Rooms and subscriptions are restored right after the auth reply,
	// concurrently with the push above: push until each lands (a push to
	// nobody is still code 0).
	pushUntil(t, ctx, a.http, "/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {"78"}}, "room-after-restart", "dev", "1002:room-after-restart")
	// The subscription was restored too.
	pushUntil(t, ctx, a.http, "/goim/push/keys", url.Values{"operation": {"1003"}, "keys": {"sdk-key"}}, "subscribed-after-restart", "dev", "1003:subscribed-after-restart")

	// The refused client never tried again.
	states := evalJS[string](t, ctx, `JSON.stringify(window.badLog.states)`)
	if n := evalJS[int](t, ctx, `window.badLog.states.filter((s) => s.startsWith('authenticating')).length`); n != 1 || evalJS[string](t, ctx, `window.bad.state`) != "refused" {
		t.Fatalf("refused client: %d auth attempts, states %s", n, states)
	}
}

// TestDemoSDKClusterFailover: the SDK in Chromium connects through
// logic's node list to one of two edges; when that edge is killed
// (SIGKILL: no close frame, no deregistration, its registry entry lives
// until the lease ends) the SDK reconnects to the other edge from the
// node list, and pushes by mid reach it there.
func TestDemoSDKClusterFailover(t *testing.T) {
	c := startClusterWith(t, clusterOpts{edgeShutdown: `timeout = "10s"`, webNodes: true})
	ctx := sdkPage(t, c.httpAddr)
	startSDKClient(t, ctx, "dev", `{
		nodesURL: '/goim/nodes/weighted',
		token: { mid: 5151, key: 'failover-key', room_id: 'live://51', accepts: [1000] },
		heartbeatMs: 2000,
		backoff: { baseMs: 500, maxMs: 2000 },
	}`)
	waitJS(t, ctx, "connect via the node list", `window.dev.state === 'ready'`, dumpClient("dev"), 20*time.Second)
	first := evalJS[string](t, ctx, `window.dev.url`)
	on := -1
	for i, ws := range c.edgeWS {
		if first == "ws://"+ws+"/sub" {
			on = i
		}
	}
	if on < 0 {
		t.Fatalf("connected to %s, not to an edge of the node list %v", first, c.edgeWS)
	}
	other := 1 - on
	httpPush(t, c.httpAddr, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"5151"}}, "before-kill")
	waitJS(t, ctx, "push before the kill", gotMsg("dev", "1000:before-kill"), dumpClient("dev"), 15*time.Second)

	if err := c.edges[on].stop(t, syscall.SIGKILL, 5*time.Second); err == nil {
		t.Fatalf("edge-%d exited cleanly on SIGKILL?", on+1)
	}
	waitJS(t, ctx, "reconnect to the other edge",
		fmt.Sprintf(`window.dev.state === 'ready' && window.dev.url === %s`, jsString("ws://"+c.edgeWS[other]+"/sub")),
		dumpClient("dev"), 30*time.Second)
	// The new route is in logic once the auth went through; a push by mid
	// finds the device on the surviving edge.
	pushUntil(t, ctx, c.httpAddr, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"5151"}}, "after-kill", "dev", "1000:after-kill")
}

// TestDemoSDKBackoffSpread: with default settings the first reconnect
// delays of 1,000 clients (the devices of one dead edge) put no more than
// 10% of them in any 100 ms window. The delays come from the SDK's own
// backoffDelay in Chromium, the function every reconnect waits on.
func TestDemoSDKBackoffSpread(t *testing.T) {
	_, a := startStandalone(t)
	ctx := sdkPage(t, a.http)
	for attempt := 0; attempt < 3; attempt++ {
		got := evalJS[int](t, ctx, fmt.Sprintf(`(async () => {
			const m = await import('/demo/goim.js');
			const xs = Array.from({ length: 1000 }, () => m.backoffDelay(%d, m.DEFAULTS.backoff)).sort((a, b) => a - b);
			let most = 0;
			for (let i = 0, j = 0; i < xs.length; i++) {
				while (xs[i] - xs[j] >= 100) j++;
				most = Math.max(most, i - j + 1);
			}
			return most;
		})()`, attempt))
		if got > 100 {
			t.Fatalf("attempt %d: %d of 1000 reconnects in one 100 ms window, want at most 100", attempt, got)
		}
		t.Logf("attempt %d: at most %d of 1000 reconnects in any 100 ms window", attempt, got)
	}
}
