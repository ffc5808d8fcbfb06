package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/goim-edge/goim-edge/internal/testenv"
)

// browser starts a fresh headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	return testenv.Browser(t)
}

// TestDemoPageInChromium drives the demo console like a person: connect a
// device (the page makes its key and shows it), push to that key, to the
// user and to the room from the page's forms, see each message in the log
// with the time it arrived, and see the device in the cluster panel's
// online count.
func TestDemoPageInChromium(t *testing.T) {
	_, a := startStandalone(t, "-set", "edge.renew_online_interval=500ms")
	ctx := browser(t)
	step, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	// seen waits for a message with body in the log, stamped with a
	// parseable time no older than the test.
	start := time.Now().Add(-time.Minute).UnixMilli()
	seen := func(body string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](
				`Array.from(document.querySelectorAll('#messages li.msg')).some(li =>
					li.querySelector('.body').textContent === `+jsString(body)+` &&
					Date.parse(li.querySelector('time').dateTime) >= `+strconv.FormatInt(start, 10)+` &&
					li.querySelector('time').textContent.length > 0)`,
				chromedp.WithPollingTimeout(15*time.Second),
			)(ctx, tg)
			return err
		})
	}
	push := func(kind, target, body string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			return chromedp.Do(ctx,
				chromedp.SetValue(chromedp.CSS(`#push-kind`), kind),
				chromedp.SetValue(chromedp.CSS(`#push-target`), target),
				chromedp.SetValue(chromedp.CSS(`#push-body`), body),
				chromedp.Click(chromedp.CSS(`#push`)),
				seen(body),
			)
		})
	}
	dump := `document.getElementById('status').textContent + ' | ' + document.getElementById('push-result').textContent + ' | ' + document.getElementById('messages').textContent + ' | online ' + document.getElementById('total-conns').textContent + ' ' + document.getElementById('cluster-error').textContent`
	fail := func(what string, err error) {
		t.Helper()
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](dump))
		t.Fatalf("%s: %v (page: %s)", what, err, page)
	}

	err := chromedp.Do(step,
		chromedp.Navigate("http://"+a.http+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
		chromedp.SetValue(chromedp.CSS(`#mid`), "777"),
		chromedp.SetValue(chromedp.CSS(`#room`), "live://42"),
		chromedp.Click(chromedp.CSS(`#connect`)),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="ready"]`)),
	)
	if err != nil {
		fail("connect", err)
	}
	// The page made the key and shows it.
	key, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(`#device-key`)))
	if err != nil || !strings.HasPrefix(key, "demo-") {
		fail("device key shown: "+key, err)
	}
	err = chromedp.Do(step,
		// Push by key, from the page's form.
		push("keys", key, "hello-key"),
		push("mids", "777", "hello-browser"),
		// Room pushes arrive as op 9 batches on WebSocket: the SDK splits
		// them.
		push("room", "live://42", "hello-room"),
	)
	if err != nil {
		fail("push", err)
	}
	result, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(`#push-result`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(result, `{"code":0,"message":""}`) {
		t.Fatalf("push result shown: %q", result)
	}
	// The cluster panel: the device is counted online, the edge listed.
	err = chromedp.Do(step, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`(document.getElementById('refresh').click(), true) &&
			Number(document.getElementById('total-conns').textContent) >= 1 &&
			document.querySelectorAll('#edges tbody tr').length === 1 &&
			document.querySelector('#edges tbody tr').textContent.includes(`+jsString(a.ws)+`)`,
			chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(500*time.Millisecond))(ctx, tg)
		return err
	}))
	if err != nil {
		fail("online count", err)
	}
}

// TestDemoConsoleAsksForAPIKey: with logic.http.api_key set, a push from
// the console gets 401, the page asks for the key, and with it the push
// goes through.
func TestDemoConsoleAsksForAPIKey(t *testing.T) {
	_, a := startStandalone(t, "-set", "logic.http.api_key=console-secret")
	ctx := browser(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.Navigate("http://"+a.http+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
		chromedp.SetValue(chromedp.CSS(`#push-kind`), "all"),
		chromedp.Click(chromedp.CSS(`#push`)),
		chromedp.WaitVisible(chromedp.CSS(`#api-key`)),
		chromedp.WaitVisible(chromedp.CSS(`#api-key-note`)),
		chromedp.SetValue(chromedp.CSS(`#api-key`), "console-secret"),
		chromedp.Click(chromedp.CSS(`#push`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.getElementById('push-result').textContent.includes('200 {"code":0,"message":""}')`,
				chromedp.WithPollingTimeout(15*time.Second))(ctx, tg)
			return err
		}),
	)
	if err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('push-result').textContent`))
		t.Fatalf("api key round: %v (page: %s)", err, page)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
