package e2e

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// wsDeviceJS is a goim device in the browser's own WebSocket: it
// authenticates, records every push body (op-9 batches split) and the
// close event's code and reason in window.dev.
const wsDeviceJS = `(function(url, mid, key) {
  const dev = window.dev = {bodies: [], ext: null, ready: false, close: null};
  const frame = (op, seq, body) => {
    const b = new TextEncoder().encode(body);
    const f = new DataView(new ArrayBuffer(16 + b.length));
    f.setInt32(0, 16 + b.length); f.setInt16(4, 16); f.setInt16(6, 1);
    f.setInt32(8, op); f.setInt32(12, seq);
    new Uint8Array(f.buffer, 16).set(b);
    return f.buffer;
  };
  const split = (buf, off, end) => {
    const v = new DataView(buf);
    while (off < end) {
      const len = v.getInt32(off), op = v.getInt32(off + 8);
      if (op === 9) split(buf, off + 16, off + len);
      else if (op === 8) dev.ready = true;
      else if (op >= 1000) dev.bodies.push(new TextDecoder().decode(new Uint8Array(buf, off + 16, len - 16)));
      off += len;
    }
  };
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => { dev.ext = ws.extensions; ws.send(frame(7, 1, JSON.stringify({mid: mid, key: key, room_id: 'live://ws', platform: 'web', accepts: [1000]}))); };
  ws.onmessage = (e) => split(e.data, 0, e.data.byteLength);
  ws.onclose = (e) => { dev.close = {code: e.code, reason: e.reason}; };
  return true;
})`

// TestBrowserWebSocketCompressionAndDrain: Chromium negotiates
// permessage-deflate with the edge, gets a compressed push, and when the
// edge drains (SIGTERM) its WebSocket closes with code 1001 and the
// edge's reason, on both WebSocket transports.
func TestBrowserWebSocketCompressionAndDrain(t *testing.T) {
	for _, transport := range []string{"hertz", "netpoll"} {
		t.Run(transport, func(t *testing.T) {
			p, a := startStandalone(t,
				"-set", "edge.ws_transport="+transport,
				"-set", "edge.ws_compression=true",
				"-set", "edge.ws_compression_min_bytes=64",
				"-set", "shutdown.drain_delay=0s")
			ctx := browser(t)
			step, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			waitJS := func(what, cond string) {
				t.Helper()
				err := chromedp.Do(step, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(15*time.Second))(ctx, tg)
					return err
				}))
				if err != nil {
					state, _ := chromedp.Run(step, chromedp.Evaluate[string](`JSON.stringify(window.dev)`))
					t.Fatalf("%s: %v; device %s", what, err, state)
				}
			}
			key := "browser-" + transport
			if err := chromedp.Do(step, chromedp.Navigate("http://"+a.http+"/")); err != nil {
				t.Fatal(err)
			}
			_, err := chromedp.Run(step, chromedp.Evaluate[bool](wsDeviceJS+"("+strconv.Quote("ws://"+a.ws+"/sub")+", 4242, "+strconv.Quote(key)+")"))
			if err != nil {
				t.Fatal(err)
			}
			waitJS("authenticated", `window.dev.ready`)
			ext, err := chromedp.Run(step, chromedp.Evaluate[string](`window.dev.ext`))
			if err != nil || !strings.Contains(ext, "permessage-deflate") {
				t.Fatalf("negotiated extensions %q (%v)", ext, err)
			}
			body := strings.Repeat(`{"type":"chat","text":"compressed in transit"}`, 4)
			httpPush(t, a.http, "/goim/push/keys", url.Values{"operation": {"1000"}, "keys": {key}}, body)
			waitJS("compressed push", `window.dev.bodies.includes(`+strconv.Quote(body)+`)`)

			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			waitJS("close on drain", `window.dev.close !== null`)
			got, err := chromedp.Run(step, chromedp.Evaluate[string](`window.dev.close.code + ' ' + window.dev.close.reason`))
			if err != nil || !strings.HasPrefix(got, "1001 ") {
				t.Fatalf("close event %q (%v), want code 1001", got, err)
			}
			if err := p.wait(t, 30*time.Second); err != nil {
				t.Fatalf("standalone exit: %v", err)
			}
		})
	}
}
