package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/common/hlog"
	"github.com/cloudwego/kitex/pkg/klog"
)

func TestNewLoggerFormats(t *testing.T) {
	tests := []struct {
		format, level string
		wantErr       bool
		wantSub       string
	}{
		{"json", "info", false, `"msg":"hello"`},
		{"text", "debug", false, "msg=hello"},
		{"", "warn", false, ""},
		{"xml", "info", true, ""},
		{"text", "loud", true, ""},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		l, err := NewLogger(&buf, LogOptions{Level: tt.level, Format: tt.format})
		if tt.wantErr {
			if err == nil {
				t.Errorf("%s/%s: want error", tt.format, tt.level)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		l.Info("hello")
		if !strings.Contains(buf.String(), tt.wantSub) {
			t.Errorf("%s/%s: output %q lacks %q", tt.format, tt.level, buf.String(), tt.wantSub)
		}
		if tt.level == "warn" && buf.Len() != 0 {
			t.Errorf("info record passed a warn logger: %q", buf.String())
		}
	}
}

func TestFrameworkLoggersRouteIntoSlog(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, LogOptions{Level: "info", Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	SetupLogging(l, slog.LevelInfo)

	klog.Debugf("kitex debug %d", 1) // below info: dropped
	klog.Warnf("kitex warn %d", 2)
	hlog.CtxErrorf(context.Background(), "hertz error %s", "x")
	hlog.Notice("hertz notice")

	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		recs = append(recs, m)
	}
	if len(recs) != 3 {
		t.Fatalf("want 3 records (debug dropped), got %d: %s", len(recs), buf.String())
	}
	want := []struct{ lib, level, msg string }{
		{"kitex", "WARN", "kitex warn 2"},
		{"hertz", "ERROR", "hertz error x"},
		{"hertz", "INFO+2", "hertz notice"},
	}
	for i, w := range want {
		if recs[i]["lib"] != w.lib || recs[i]["level"] != w.level || recs[i]["msg"] != w.msg {
			t.Errorf("record %d = %v, want %+v", i, recs[i], w)
		}
	}
}

func TestFatalExits(t *testing.T) {
	code := -1
	prev := exit
	exit = func(c int) { code = c }
	t.Cleanup(func() { exit = prev })
	b := &kitexLogger{bridge{l: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	b.Fatalf("boom")
	if code != 1 {
		t.Fatalf("Fatal did not exit(1): %d", code)
	}
}

func TestHealthStates(t *testing.T) {
	h := NewHealth()
	ctx := context.Background()
	if r := h.Ready(); r.Ready || r.Status != StatusStarting {
		t.Fatalf("before start: %+v", r)
	}
	h.SetStarted()
	if r := h.Ready(); !r.Ready || r.Status != StatusOK {
		t.Fatalf("started with no checks: %+v", r)
	}
	var failing atomic.Bool
	failing.Store(true)
	h.AddCheck("redis", func(context.Context) error {
		if failing.Load() {
			return errors.New("dial tcp 10.0.0.5:6379: connection refused")
		}
		return nil
	})
	if r := h.Ready(); r.Ready || !slices.Equal(r.Failing, []string{"redis"}) {
		t.Fatalf("check not run yet counts as failing: %+v", r)
	}
	h.RunChecks(ctx)
	if r := h.Ready(); r.Ready || r.Status != StatusUnready || !slices.Equal(r.Failing, []string{"redis"}) {
		t.Fatalf("failing check: %+v", r)
	}
	failing.Store(false)
	if r := h.Ready(); r.Ready {
		t.Fatalf("a recovered check counted before it ran again: %+v", r)
	}
	h.RunChecks(ctx)
	if r := h.Ready(); !r.Ready || len(r.Failing) != 0 {
		t.Fatalf("recovered check: %+v", r)
	}
	var closed atomic.Bool
	h.AddGate("edge", func() error {
		if closed.Load() {
			return errors.New("draining")
		}
		return nil
	})
	if r := h.Ready(); !r.Ready {
		t.Fatalf("open gate: %+v", r)
	}
	closed.Store(true)
	if r := h.Ready(); r.Ready || !slices.Equal(r.Failing, []string{"edge"}) {
		t.Fatalf("a closed gate takes effect on the next request: %+v", r)
	}
	closed.Store(false)
	h.SetDraining()
	if r := h.Ready(); r.Ready || r.Status != StatusDraining {
		t.Fatalf("draining: %+v", r)
	}
}

// TestReadyzAnswersFromCache: requests read the last results; the
// background loop, not the requests, runs the checks.
func TestReadyzAnswersFromCache(t *testing.T) {
	h := NewHealth().WithTiming(time.Hour, time.Second)
	var calls atomic.Int64
	h.AddCheck("store", func(context.Context) error { calls.Add(1); return nil })
	h.SetStarted()
	h.Start(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(h.Close)
	a, err := StartAdmin("127.0.0.1:0", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	waitFor(t, "the first run of the checks", func() bool { return h.Ready().Ready })
	for range 100 {
		if code, body := httpGet(t, "http://"+a.Addr()+PathReadyz); code != 200 {
			t.Fatalf("readyz %d %s", code, body)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("check ran %d times for 100 requests within one interval, want 1", n)
	}
}

// TestReadyzHidesErrors: the body names the failing check, never its
// error text; the log has the details.
func TestReadyzHidesErrors(t *testing.T) {
	var logBuf testenv.SyncBuffer
	h := NewHealth().WithTiming(20*time.Millisecond, time.Second)
	const secret = "NOAUTH Authentication required at 10.0.0.5:6379"
	h.AddCheck("store", func(context.Context) error { return errors.New(secret) })
	h.SetStarted()
	h.Start(slog.New(slog.NewTextHandler(&logBuf, nil)))
	t.Cleanup(h.Close)
	a, err := StartAdmin("127.0.0.1:0", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	waitFor(t, "the check's failure in the log", func() bool { return strings.Contains(logBuf.String(), secret) })
	code, body := httpGet(t, "http://"+a.Addr()+PathReadyz)
	var rep ReadyReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if code != 503 || rep.Ready || !slices.Equal(rep.Failing, []string{"store"}) {
		t.Fatalf("readyz %d %s, want 503 naming store", code, body)
	}
	if strings.Contains(body, "NOAUTH") || strings.Contains(body, "10.0.0.5") {
		t.Fatalf("readyz leaks the error: %s", body)
	}
	if n := strings.Count(logBuf.String(), secret); n != 1 {
		t.Fatalf("the same failure logged %d times, want once:\n%s", n, logBuf.String())
	}
}

// TestStaleCheckFails: a check that ignores its deadline and never returns
// leaves a result that ages out instead of a ready node forever.
func TestStaleCheckFails(t *testing.T) {
	h := NewHealth().WithTiming(10*time.Millisecond, 10*time.Millisecond)
	var hang atomic.Bool
	release := make(chan struct{})
	h.AddCheck("store", func(context.Context) error {
		if hang.Load() {
			<-release
		}
		return nil
	})
	h.SetStarted()
	h.Start(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(h.Close)
	t.Cleanup(func() { close(release) })
	waitFor(t, "ready", func() bool { return h.Ready().Ready })
	hang.Store(true)
	waitFor(t, "the hung check to count as failing", func() bool {
		r := h.Ready()
		return !r.Ready && slices.Equal(r.Failing, []string{"store"})
	})
}

func TestAdminServesEndpoints(t *testing.T) {
	h := NewHealth()
	a, err := StartAdmin("127.0.0.1:0", h, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	SetBuildInfo("test", "edge")
	get := func(path string) (int, string) { return httpGet(t, "http://"+a.Addr()+path) }
	if code, _ := get(PathHealthz); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get(PathReadyz); code != 503 || !strings.Contains(body, "starting") {
		t.Fatalf("readyz before start: %d %s", code, body)
	}
	h.SetStarted()
	if code, _ := get(PathReadyz); code != 200 {
		t.Fatalf("readyz after start: %d", code)
	}
	if code, body := get(PathMetrics); code != 200 || !strings.Contains(body, `goim_build_info{role="edge",version="test"} 1`) {
		t.Fatalf("metrics: %d %s", code, body)
	}
	if code, _ := get("/nope"); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond with a generous deadline (a loaded machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFloodGuardLimitsRepeatedFormats(t *testing.T) {
	var g floodGuard
	t0 := time.Unix(1000, 0)
	allowed := 0
	for i := 0; i < 100; i++ {
		if ok, _ := g.allow("retry %d", t0.Add(time.Duration(i)*time.Millisecond)); ok {
			allowed++
		}
	}
	if allowed != floodBurst {
		t.Fatalf("allowed %d of 100 in one window, want %d", allowed, floodBurst)
	}
	if ok, _ := g.allow("other %s", t0); !ok {
		t.Fatal("a different format was limited too")
	}
	ok, suppressed := g.allow("retry %d", t0.Add(floodWindow))
	if !ok || suppressed != 100-floodBurst {
		t.Fatalf("next window: ok=%v suppressed=%d, want true %d", ok, suppressed, 100-floodBurst)
	}
}

func TestBridgeSuppressesFloods(t *testing.T) {
	var buf bytes.Buffer
	b := &kitexLogger{bridge{l: slog.New(slog.NewTextHandler(&buf, nil))}}
	for i := 0; i < 50; i++ {
		b.Warnf("KITEX: auto retry retryable error, retry=%d", i)
	}
	if n := strings.Count(buf.String(), "auto retry"); n != floodBurst {
		t.Fatalf("%d records passed, want %d:\n%s", n, floodBurst, buf.String())
	}
}

func TestLineWriterStripsStdTimestamps(t *testing.T) {
	var buf bytes.Buffer
	w := &lineWriter{l: slog.New(slog.NewJSONHandler(&buf, nil)), level: slog.LevelWarn}
	if _, err := w.Write([]byte("2026/11/25 09:00:00 NETPOLL: poller error\nsecond line\n")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `"msg":"NETPOLL: poller error"`) || !strings.Contains(out, `"msg":"second line"`) || strings.Contains(out, "2026/11/25") {
		t.Fatalf("lines not forwarded cleanly: %s", out)
	}
	if strings.Count(out, `"level":"WARN"`) != 2 {
		t.Fatalf("want two WARN records: %s", out)
	}
}
