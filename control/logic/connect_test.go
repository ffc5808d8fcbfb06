package logic

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

func TestConnectLifecycle(t *testing.T) {
	logictest.EachStore(t, testConnectLifecycle)
}

func testConnectLifecycle(t *testing.T, open logictest.Opener) {
	ctx := context.Background()
	h := newHarness(t, open(t), nil)
	server := func(key string) string {
		t.Helper()
		m, err := h.st.ServersByKeys(ctx, []string{key})
		if err != nil {
			t.Fatal(err)
		}
		return m[key]
	}

	token := `{"mid":123,"key":"dev-1","room_id":"live://1000","platform":"web","accepts":[1000,1001]}`
	resp, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "edge-a", Token: []byte(token), RemoteAddr: "10.0.0.1:5000"})
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := h.st.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := &logic.ConnectResp{Mid: 123, Key: "dev-1", Rooms: []string{"live://1000"}, Accepts: []int32{1000, 1001}, HeartbeatMs: (8 * time.Minute).Milliseconds(), StoreEpoch: epoch}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("Connect = %+v, want %+v", resp, want)
	}
	if got := server("dev-1"); got != "edge-a" {
		t.Fatalf("route after connect = %q", got)
	}

	// The device reconnects through edge-b before edge-a notices it left.
	if _, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "edge-b", Token: []byte(token)}); err != nil {
		t.Fatal(err)
	}
	late, err := h.l.Disconnect(ctx, &logic.DisconnectReq{Mid: 123, Key: "dev-1", Server: "edge-a"})
	if err != nil {
		t.Fatal(err)
	}
	if late.Removed || server("dev-1") != "edge-b" {
		t.Fatalf("late disconnect from edge-a: removed=%v, route=%q; the newer route must stay", late.Removed, server("dev-1"))
	}
	// A heartbeat from the stale connection must not steal the route back.
	if _, err := h.l.Heartbeat(ctx, &logic.HeartbeatReq{Mid: 123, Key: "dev-1", Server: "edge-a"}); err != nil {
		t.Fatal(err)
	}
	if got := server("dev-1"); got != "edge-b" {
		t.Fatalf("stale heartbeat moved the route to %q", got)
	}
	gone, err := h.l.Disconnect(ctx, &logic.DisconnectReq{Mid: 123, Key: "dev-1", Server: "edge-b"})
	if err != nil {
		t.Fatal(err)
	}
	if !gone.Removed || server("dev-1") != "" {
		t.Fatalf("disconnect from edge-b: removed=%v route=%q", gone.Removed, server("dev-1"))
	}
	// Heartbeat of a route the store lost restores it, as goim does.
	if _, err := h.l.Heartbeat(ctx, &logic.HeartbeatReq{Mid: 123, Key: "dev-1", Server: "edge-b"}); err != nil {
		t.Fatal(err)
	}
	if got := server("dev-1"); got != "edge-b" {
		t.Fatalf("heartbeat did not restore the route: %q", got)
	}
	mids, err := h.st.KeysByMids(ctx, []int64{123})
	if err != nil || mids["dev-1"] != "edge-b" {
		t.Fatalf("KeysByMids after restore = %v, %v", mids, err)
	}
}

func TestConnectGeneratesKey(t *testing.T) {
	h := newHarness(t, logictest.MemoryStore(t), nil)
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		resp, err := h.l.Connect(context.Background(), &logic.ConnectReq{Server: "edge-a", Token: []byte(`{"mid":7,"key":""}`)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Key == "" || seen[resp.Key] {
			t.Fatalf("generated key %q is empty or repeated", resp.Key)
		}
		seen[resp.Key] = true
	}
	m, err := h.st.KeysByMids(context.Background(), []int64{7})
	if err != nil || len(m) != 3 {
		t.Fatalf("mid 7 has routes %v, %v; want 3", m, err)
	}
}

func TestConnectRefused(t *testing.T) {
	h := newHarness(t, logictest.MemoryStore(t), nil)
	for _, token := range []string{``, `garbage`, `{"mid":"12a"}`, `[1,2]`} {
		resp, err := h.l.Connect(context.Background(), &logic.ConnectReq{Server: "edge-a", Token: []byte(token)})
		if err == nil || !IsRefused(err) || resp != nil {
			t.Errorf("token %q: resp %v err %v, want a refusal", token, resp, err)
		}
	}
}

func TestEdgeCallsNeedServerAndKey(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, logictest.MemoryStore(t), nil)
	calls := map[string]func() error{
		"connect":      func() error { _, err := h.l.Connect(ctx, &logic.ConnectReq{Token: []byte(`{"mid":1}`)}); return err },
		"disconnect":   func() error { _, err := h.l.Disconnect(ctx, &logic.DisconnectReq{Mid: 1, Server: "e"}); return err },
		"heartbeat":    func() error { _, err := h.l.Heartbeat(ctx, &logic.HeartbeatReq{Mid: 1, Key: "k"}); return err },
		"renew online": func() error { _, err := h.l.RenewOnline(ctx, &logic.RenewOnlineReq{}); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "required") {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

func TestIsRefused(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("connection reset"), false},
		{refused(errors.New("bad token")), true},
		{fmt.Errorf("edge: %w", refused(errors.New("bad token"))), true},
		// The words alone are not a refusal: only the IDL exception is.
		{errors.New("remote or network error[remote]: biz error: logic: auth refused: bad token"), false},
	}
	for _, c := range cases {
		if got := IsRefused(c.err); got != c.want {
			t.Errorf("IsRefused(%v) = %v", c.err, got)
		}
	}
}

// Heartbeats keep a route alive past RouteTTL; without them it expires,
// so a crashed edge's devices stop being routed to it.
func TestHeartbeatKeepsRouteAlive(t *testing.T) {
	logictest.EachStore(t, func(t *testing.T, open logictest.Opener) {
		ctx := context.Background()
		const ttl = time.Second
		h := newHarness(t, open(t), func(c *Config) { c.RouteTTL = ttl })
		connected := time.Now()
		if _, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "edge-a", Token: []byte(`{"mid":3,"key":"hb"}`)}); err != nil {
			t.Fatal(err)
		}
		routed := func() bool {
			m, err := h.st.ServersByKeys(ctx, []string{"hb"})
			if err != nil {
				t.Fatal(err)
			}
			return m["hb"] == "edge-a"
		}
		// Heartbeats 300 ms apart, until the route was found alive three
		// times well past the ttl. The route is read before each heartbeat
		// (a heartbeat restores a missing route), and a read is judged
		// only when it ended less than the ttl after the previous renewal
		// began: on a stalled machine a longer gap lets the route expire
		// as it should.
		prev := connected
		judged := 0
		for deadline := time.Now().Add(30 * time.Second); judged < 3; {
			if time.Now().After(deadline) {
				t.Fatalf("after 30 s of heartbeats only %d gaps short enough to judge", judged)
			}
			time.Sleep(300 * time.Millisecond)
			alive := routed()
			gap := time.Since(prev)
			prev = time.Now()
			if _, err := h.l.Heartbeat(ctx, &logic.HeartbeatReq{Mid: 3, Key: "hb", Server: "edge-a"}); err != nil {
				t.Fatal(err)
			}
			if gap >= ttl*9/10 {
				continue
			}
			if !alive {
				t.Fatalf("route gone %v after connecting, %v after the last renewal began", time.Since(connected), gap)
			}
			if time.Since(connected) > 2*ttl {
				judged++
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for routed() {
			if time.Now().After(deadline) {
				t.Fatal("route without heartbeats never expired")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// TestConnectRoomGrants: Connect reports a jwt identity's grants (set
// even when empty) and leaves them unset for json tokens.
func TestConnectRoomGrants(t *testing.T) {
	h := newHarness(t, logictest.MemoryStore(t), nil)
	resp, err := h.l.Connect(context.Background(), &logic.ConnectReq{Server: "edge-a", Token: []byte(`{"mid":7,"room_id":"live://1"}`)})
	if err != nil || resp.IsSetRoomGrants() {
		t.Fatalf("json token: grants set %v (%q), %v; want unset", resp.IsSetRoomGrants(), resp.GetRoomGrants(), err)
	}

	secret := []byte("0123456789abcdef0123456789abcdef-connect")
	path := filepath.Join(t.TempDir(), "jwt.key")
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	acfg := auth.DefaultConfig()
	acfg.Mode, acfg.JWT.KeyFile = auth.ModeJWT, path
	a, err := auth.New(acfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h = newHarness(t, logictest.MemoryStore(t), nil, func(d *Deps) { d.Auth = a })
	for _, tc := range []struct {
		name   string
		claims jwt.MapClaims
		want   []string
	}{
		{"grants", jwt.MapClaims{"rooms": []string{"live://1"}, "room_grants": []string{"chat://*"}}, []string{"live://1", "chat://*"}},
		{"none", jwt.MapClaims{}, []string{}},
	} {
		tc.claims["sub"], tc.claims["exp"] = "5", time.Now().Add(time.Hour).Unix()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, tc.claims).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := h.l.Connect(context.Background(), &logic.ConnectReq{Server: "edge-a", Token: []byte(tok)})
		if err != nil || !resp.IsSetRoomGrants() || !slices.Equal(resp.RoomGrants, tc.want) {
			t.Fatalf("%s: grants set %v %q, %v; want %q", tc.name, resp.IsSetRoomGrants(), resp.GetRoomGrants(), err, tc.want)
		}
	}
}
