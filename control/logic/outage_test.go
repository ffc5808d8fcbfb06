package logic

import (
	"context"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// A dead Redis turns requests into server errors (never refusals, never a
// crash), and everything works again once it is back.
func TestRedisOutage(t *testing.T) {
	ctx := context.Background()
	srv := testenv.Redis(t)
	h := newHarness(t, logictest.RedisStoreAt(t, srv.Addr), func(c *Config) { c.CallTimeout = 2 * time.Second })
	addRoutes(t, h.st, store.Route{Mid: 1, Key: "k1", Server: "edge-a"})
	token := []byte(`{"mid":1,"key":"k2"}`)

	srv.Kill()
	if _, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "edge-a", Token: token}); err == nil || IsRefused(err) {
		t.Fatalf("Connect with Redis down: err = %v, want an outage error", err)
	}
	if _, err := h.l.EnqueueKeys(ctx, 1000, []string{"k1"}, []byte("x")); Code(err) != CodeServer {
		t.Fatalf("EnqueueKeys with Redis down: err = %v, want -500", err)
	}
	if _, err := h.l.RenewOnline(ctx, &logic.RenewOnlineReq{Server: "edge-a"}); err == nil {
		t.Fatal("RenewOnline with Redis down succeeded")
	}
	if _, err := h.l.TotalOnline(ctx); Code(err) != CodeServer {
		t.Fatalf("TotalOnline with Redis down: err = %v", err)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "edge-a", Token: token})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Connect after Redis came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := h.l.EnqueueKeys(ctx, 1000, []string{"k2"}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := h.take(t); len(got) != 1 || got[0].Keys[0] != "k2" {
		t.Fatalf("after recovery queued %+v", got)
	}
}
