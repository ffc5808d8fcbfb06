// The JavaScript SDK's recovery against the real standalone server. It
// needs the server side of docs/recovery.md (edge ops 26–30, logic's
// Resume and Ack), built on other branches: whoever merges it removes the
// build tag above. The same flows against an in-test fake server run
// today in client/js_recovery_test.go.

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
)

// startRecoveryClient creates a GoimClient with resume on as
// window[name]; messages are logged as "stream@offset:text" (or
// "op:text"), verdicts as arrays of {stream, recovered, reason, count}.
func startRecoveryClient(t *testing.T, ctx context.Context, name, opts string) {
	t.Helper()
	evalJS[bool](t, ctx, fmt.Sprintf(`(async () => {
		const m = await import('/demo/goim.js');
		const log = { msgs: [], resumed: [], errors: [] };
		const c = new m.GoimClient(Object.assign({ resume: true, backoff: { baseMs: 100, maxMs: 500 } }, %s));
		c.on('message', (f) => log.msgs.push(f.stream ? f.stream + '@' + f.offset + ':' + f.text() : f.op + ':' + f.text()));
		c.on('resumed', (e) => log.resumed.push(e.streams));
		c.on('error', (e) => log.errors.push(String(e.message || e)));
		window[%q] = c; window[%q + 'Log'] = log;
		c.connect();
		return true;
	})()`, opts, name, name))
}

// TestRecoveryServerSDKInChromium: goim.js with resume on gets pushes by
// mid and to its room with positions, acks them (counted), and a new
// client built from its positions() — a reloaded page — receives exactly
// what was pushed meanwhile, then a recovered verdict, then live pushes.
func TestRecoveryServerSDKInChromium(t *testing.T) {
	file := filepath.Join(t.TempDir(), "history.toml")
	if err := os.WriteFile(file, []byte(testenv.HistoryConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	_, a := startStandalone(t, "-config", file)
	ctx := sdkPage(t, a.http)
	dump := func(name string) string {
		return fmt.Sprintf(`JSON.stringify({state: window[%[1]q].state, log: window[%[1]q + 'Log'], stats: window[%[1]q].stats()})`, name)
	}
	opts := fmt.Sprintf(`{ url: 'ws://%s/sub', token: { mid: 9500, room_id: 'live://9500', accepts: [1000] }, autoAck: true, ackEvery: 2, ackIntervalMs: 3600000 }`, a.ws)
	startRecoveryClient(t, ctx, "dev", opts)
	waitJS(t, ctx, "first verdicts", `window.devLog.resumed.length === 1`, dump("dev"), 20*time.Second)
	mid := url.Values{"operation": {"1000"}, "mids": {"9500"}}
	room := url.Values{"operation": {"1001"}, "type": {"live"}, "room": {"9500"}}
	httpPush(t, a.http, "/goim/push/mids", mid, "a1")
	httpPush(t, a.http, "/goim/push/mids", mid, "a2")
	httpPush(t, a.http, "/goim/push/room", room, "r1")
	waitJS(t, ctx, "positioned pushes", `window.devLog.msgs.length === 3 && window.devLog.msgs.every((m) => m.startsWith('user:9500@') || m.startsWith('room:live://9500@'))`, dump("dev"), 15*time.Second)
	waitJS(t, ctx, "one ack for two user messages", `window.dev.stats().acks === 1`, dump("dev"), 15*time.Second)
	saved := evalJS[string](t, ctx, `(window.dev.close(), JSON.stringify(window.dev.positions()))`)

	httpPush(t, a.http, "/goim/push/mids", mid, "a3")
	httpPush(t, a.http, "/goim/push/room", room, "r2")
	startRecoveryClient(t, ctx, "again", fmt.Sprintf(`Object.assign(%s, { positions: %s })`, opts, saved))
	waitJS(t, ctx, "verdicts after the restart", `window.againLog.resumed.length === 1`, dump("again"), 20*time.Second)
	waitJS(t, ctx, "exactly the missed messages, recovered",
		`JSON.stringify(window.againLog.msgs.map((m) => m.split(':').pop())) === '["a3","r2"]' && window.againLog.resumed[0].every((v) => v.recovered)`,
		dump("again"), 15*time.Second)
	httpPush(t, a.http, "/goim/push/mids", mid, "a4")
	waitJS(t, ctx, "live after the recovery", `window.againLog.msgs.length === 3 && window.againLog.msgs[2].endsWith(':a4')`, dump("again"), 15*time.Second)
	if n := evalJS[int](t, ctx, `window.again.stats().duplicates`); n != 0 {
		t.Fatalf("%d duplicates", n)
	}
}
