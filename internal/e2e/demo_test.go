package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's headless-capable Chromium (`make test` installs
// it via deploy/test-deps.sh).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("chromium not found: run `make test` (deploy/test-deps.sh installs it) or apt-get install chromium")
	return ""
}

// browser starts a fresh headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestDemoPageInChromium drives the demo page like a person: connect as a
// user, push to that user and to the room from the page's forms, and see
// both messages arrive over the WebSocket.
func TestDemoPageInChromium(t *testing.T) {
	_, a := startStandalone(t)
	ctx := browser(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	seen := func(body string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](
				`Array.from(document.querySelectorAll('#messages li.msg .body')).some(e => e.textContent === `+jsString(body)+`)`,
				chromedp.WithPollingTimeout(15*time.Second),
			)(ctx, tg)
			return err
		})
	}
	err := chromedp.Do(step,
		chromedp.Navigate("http://"+a.http+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
		chromedp.SetValue(chromedp.CSS(`#mid`), "777"),
		chromedp.SetValue(chromedp.CSS(`#room`), "live://42"),
		chromedp.Click(chromedp.CSS(`#connect`)),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="ready"]`)),

		// Push to the user (mids) from the page's form.
		chromedp.SetValue(chromedp.CSS(`#push-kind`), "mids"),
		chromedp.SetValue(chromedp.CSS(`#push-target`), "777"),
		chromedp.SetValue(chromedp.CSS(`#push-body`), "hello-browser"),
		chromedp.Click(chromedp.CSS(`#push`)),
		seen("hello-browser"),

		// Room pushes arrive as op 9 batches on WebSocket: the page must
		// skip the outer header and show the inner frame.
		chromedp.SetValue(chromedp.CSS(`#push-kind`), "room"),
		chromedp.SetValue(chromedp.CSS(`#push-target`), "live://42"),
		chromedp.SetValue(chromedp.CSS(`#push-body`), "hello-room"),
		chromedp.Click(chromedp.CSS(`#push`)),
		seen("hello-room"),
	)
	if err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('status').textContent + ' | ' + document.getElementById('push-result').textContent + ' | ' + document.getElementById('messages').textContent`))
		t.Fatalf("demo page: %v (page: %s)", err, status)
	}
	result, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(`#push-result`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(result, `{"code":0,"message":""}`) {
		t.Fatalf("push result shown: %q", result)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
