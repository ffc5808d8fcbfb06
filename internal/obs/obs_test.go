package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
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
	if r := h.Ready(ctx); r.Ready || r.Status != "starting" {
		t.Fatalf("before start: %+v", r)
	}
	h.SetStarted()
	if r := h.Ready(ctx); !r.Ready {
		t.Fatalf("started with no checks: %+v", r)
	}
	failing := true
	h.AddCheck("redis", func(context.Context) error {
		if failing {
			return errors.New("connection refused")
		}
		return nil
	})
	if r := h.Ready(ctx); r.Ready || r.Checks["redis"] != "connection refused" {
		t.Fatalf("failing check: %+v", r)
	}
	failing = false
	if r := h.Ready(ctx); !r.Ready || r.Checks["redis"] != "ok" {
		t.Fatalf("recovered check: %+v", r)
	}
	h.SetDraining()
	if r := h.Ready(ctx); r.Ready || r.Status != "draining" {
		t.Fatalf("draining: %+v", r)
	}
}

func TestAdminServesEndpoints(t *testing.T) {
	h := NewHealth()
	a, err := StartAdmin("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	SetBuildInfo("test", "edge")
	get := func(path string) (int, string) {
		t.Helper()
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + a.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
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

// TestRefusedAuthIsNotAnError: Kitex logs every handler error at ERROR; a
// refused device token is an answer, logged at DEBUG, while other handler
// errors stay at ERROR.
func TestRefusedAuthIsNotAnError(t *testing.T) {
	var buf bytes.Buffer
	b := &kitexLogger{bridge{l: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
	b.min.Store(int64(slog.LevelDebug))
	const format = "KITEX: processing request error, remoteService=%s, remoteAddr=%v, error=%s"
	tests := []struct {
		err, level string
	}{
		{"biz error: logic: auth refused: json token: bad mid", "level=DEBUG"},
		{"biz error: logic: store: dial tcp 127.0.0.1:6379: connection refused", "level=ERROR"},
	}
	for _, tt := range tests {
		buf.Reset()
		b.CtxErrorf(context.Background(), format, "edge", "127.0.0.1:1", tt.err)
		if !strings.Contains(buf.String(), tt.level) {
			t.Errorf("error %q logged as %q, want %s", tt.err, buf.String(), tt.level)
		}
	}
}
