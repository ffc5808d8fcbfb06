package httpapi

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/app/server"

	"github.com/goim-edge/goim-edge/control/logic"
	histmem "github.com/goim-edge/goim-edge/control/logic/history/memory"
	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/registry"
)

// apiHarness is the HTTP API on a real Hertz server on a free loopback
// port, in front of a real Logic with a memory store and queue.
type apiHarness struct {
	url string
	l   *logic.Logic
	st  store.Store
	q   *memory.Queue
	got chan *common.PushMsg
}

// newAPI is newAPIOn with a memory store.
func newAPI(t testing.TB, cfg Config, disc registry.Discovery, mods ...func(*logic.Config)) *apiHarness {
	t.Helper()
	return newAPIOn(t, logictest.MemoryStore(t), cfg, disc, mods...)
}

// newAPIOn serves the API on st; mods change logic's configuration (the
// push limits are logic's).
func newAPIOn(t testing.TB, st store.Store, cfg Config, disc registry.Discovery, mods ...func(*logic.Config)) *apiHarness {
	t.Helper()
	qcfg := memory.DefaultConfig()
	qcfg.Workers = 1
	q := memory.New(qcfg)
	lcfg := logic.DefaultConfig()
	for _, mod := range mods {
		mod(&lcfg)
	}
	deps := logic.Deps{Store: st, Queue: q, Auth: logictest.Auth(t), Discovery: disc}
	if lcfg.History.On() {
		hs := histmem.New(nil)
		t.Cleanup(func() { _ = hs.Close() })
		deps.History = hs
	}
	l, err := logic.New(lcfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	a := &apiHarness{l: l, st: st, q: q, got: make(chan *common.PushMsg, 1<<16)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = q.Run(ctx, func(_ context.Context, d *queue.Delivery) error {
			select {
			case a.got <- d.Msg:
			default: // benchmarks do not read; drop rather than stall
			}
			return nil
		})
	}()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(server.WithListener(ln), server.WithExitWaitTime(0), server.WithDisablePrintRoute(true))
	Register(h, l, cfg)
	go h.Run() //nolint:errcheck // Shutdown ends it
	a.url = "http://" + ln.Addr().String()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(a.url + "/nothing-here")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hertz on %s not up: %v", a.url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = h.Shutdown(sctx)
		cancel()
		<-done
		q.Close()
	})
	return a
}

// do sends one request and returns status, content type and exact body.
func (a *apiHarness) do(t testing.TB, method, path, body string, header ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// take returns every message enqueued so far (see logic's harness).
func (a *apiHarness) take(t testing.TB) []*common.PushMsg {
	t.Helper()
	marker := &common.PushMsg{Id: "marker", Kind: common.PushKind_BROADCAST, Op: 1}
	if err := a.q.Publish(context.Background(), marker); err != nil {
		t.Fatal(err)
	}
	var out []*common.PushMsg
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-a.got:
			if m == marker {
				return out
			}
			out = append(out, m)
		case <-timeout:
			t.Fatalf("queue: marker not delivered; got %d messages", len(out))
		}
	}
}

func (a *apiHarness) route(t testing.TB, mid int64, key, server string) {
	t.Helper()
	if err := a.st.AddRoute(context.Background(), store.Route{Mid: mid, Key: key, Server: server}, time.Hour); err != nil {
		t.Fatal(err)
	}
}

// limits sets logic's push limits (0 leaves one at its default).
func limits(maxBody, maxTargets int) func(*logic.Config) {
	return func(c *logic.Config) {
		if maxBody > 0 {
			c.MaxBodyBytes = maxBody
		}
		if maxTargets > 0 {
			c.MaxTargets = maxTargets
		}
	}
}
