package push

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/goim-edge/goim-edge/bench/payload"
	pushapi "github.com/goim-edge/goim-edge/kitex_gen/push"
	pushserver "github.com/goim-edge/goim-edge/kitex_gen/push/push"
	"github.com/goim-edge/goim-edge/rpcauth"
)

func TestHTTPURLs(t *testing.T) {
	h := NewHTTP("127.0.0.1:3111", 1)
	cases := []struct {
		t    Target
		want string
	}{
		{Target{Kind: Keys, Op: 1000, Keys: []string{"a", "b"}}, "http://127.0.0.1:3111/goim/push/keys?keys=a&keys=b&operation=1000"},
		{Target{Kind: Mids, Op: 1001, Mids: []int64{1, 2}}, "http://127.0.0.1:3111/goim/push/mids?mids=1&mids=2&operation=1001"},
		{Target{Kind: Room, Op: 1000, Room: "test://1"}, "http://127.0.0.1:3111/goim/push/room?operation=1000&room=1&type=test"},
		{Target{Kind: All, Op: 1000, Speed: 500}, "http://127.0.0.1:3111/goim/push/all?operation=1000&speed=500"},
	}
	for _, c := range cases {
		got, err := h.URL(c.t)
		if err != nil || got != c.want {
			t.Errorf("URL(%+v) = %q, %v; want %q", c.t, got, err, c.want)
		}
	}
	for _, bad := range []Target{{Kind: "nope"}, {Kind: Room, Room: "no-type"}} {
		if _, err := h.URL(bad); err == nil {
			t.Errorf("URL(%+v) accepted", bad)
		}
	}
}

func TestHTTPEnvelope(t *testing.T) {
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		switch r.URL.Query().Get("operation") {
		case "1000":
			io.WriteString(w, `{"code":0,"message":""}`)
		case "1001":
			w.WriteHeader(400)
			io.WriteString(w, `{"code":-400,"message":"bad keys"}`)
		case "1002":
			io.WriteString(w, `{"code":-500,"message":"queue down"}`)
		default:
			io.WriteString(w, `not json`)
		}
	}))
	defer srv.Close()
	h := NewHTTP(srv.URL, 2)
	defer h.Close()
	if err := h.Push(context.Background(), Target{Kind: Keys, Op: 1000, Keys: []string{"k"}}, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if string(gotBody) != "hi" {
		t.Fatalf("body = %q", gotBody)
	}
	for _, op := range []int32{1001, 1002, 1003} {
		err := h.Push(context.Background(), Target{Kind: All, Op: op}, nil)
		if err == nil {
			t.Errorf("op %d: accepted", op)
		}
	}
}

// pushHandler is a Kitex Push service that records calls.
type pushHandler struct {
	mu    sync.Mutex
	calls []string
}

func (p *pushHandler) rec(s string) {
	p.mu.Lock()
	p.calls = append(p.calls, s)
	p.mu.Unlock()
}

func (p *pushHandler) PushKeys(_ context.Context, r *pushapi.PushKeysReq) (*pushapi.PushResp, error) {
	p.rec("keys " + strings.Join(r.Keys, ",") + " " + string(r.Body))
	return &pushapi.PushResp{}, nil
}
func (p *pushHandler) PushMids(_ context.Context, r *pushapi.PushMidsReq) (*pushapi.PushResp, error) {
	p.rec("mids")
	return nil, &pushapi.PushError{Code: -400, Message: "no mids"}
}
func (p *pushHandler) PushRoom(_ context.Context, r *pushapi.PushRoomReq) (*pushapi.PushResp, error) {
	p.rec("room " + r.Type + " " + r.Room)
	return &pushapi.PushResp{}, nil
}
func (p *pushHandler) PushAll(_ context.Context, r *pushapi.PushAllReq) (*pushapi.PushResp, error) {
	p.rec("all")
	return &pushapi.PushResp{}, nil
}
func (p *pushHandler) OnlineTop(context.Context, *pushapi.OnlineTopReq) (*pushapi.OnlineTopResp, error) {
	return &pushapi.OnlineTopResp{}, nil
}
func (p *pushHandler) OnlineRoom(context.Context, *pushapi.OnlineRoomReq) (*pushapi.OnlineRoomResp, error) {
	return &pushapi.OnlineRoomResp{}, nil
}
func (p *pushHandler) OnlineTotal(context.Context, *pushapi.OnlineTotalReq) (*pushapi.OnlineTotalResp, error) {
	return &pushapi.OnlineTotalResp{}, nil
}
func (p *pushHandler) NodesWeighted(context.Context, *pushapi.NodesWeightedReq) (*pushapi.NodesWeightedResp, error) {
	return &pushapi.NodesWeightedResp{}, nil
}
func (p *pushHandler) NodesInstances(context.Context, *pushapi.NodesInstancesReq) (*pushapi.NodesInstancesResp, error) {
	return &pushapi.NodesInstancesResp{}, nil
}
func (p *pushHandler) History(context.Context, *pushapi.HistoryReq) (*pushapi.HistoryResp, error) {
	return &pushapi.HistoryResp{}, nil
}
func (p *pushHandler) Position(context.Context, *pushapi.PositionReq) (*pushapi.PositionResp, error) {
	return &pushapi.PositionResp{}, nil
}

func TestKitexPusher(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := &pushHandler{}
	tcpAddr, _ := net.ResolveTCPAddr("tcp", addr)
	const secret = "bench-push-secret-0123456789"
	svr := pushserver.NewServer(h, append(rpcauth.ServerOptions(rpcauth.Config{Secret: secret}, "goim.logic"),
		server.WithServiceAddr(tcpAddr))...)
	go svr.Run()
	defer svr.Stop()

	k, err := NewKitex(addr, secret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err = k.Push(ctx, Target{Kind: Keys, Op: 1000, Keys: []string{"a", "b"}}, []byte("x"))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Push(ctx, Target{Kind: Room, Op: 1000, Room: "test://9"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := k.Push(ctx, Target{Kind: All, Op: 1000}, nil); err != nil {
		t.Fatal(err)
	}
	err = k.Push(ctx, Target{Kind: Mids, Op: 1000, Mids: []int64{1}}, nil)
	if err == nil || !strings.Contains(err.Error(), "no mids") {
		t.Fatalf("mids err = %v", err)
	}
	// A pusher without the server's secret is refused and reaches no handler.
	anon, err := NewKitex(addr, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := anon.Push(ctx, Target{Kind: All, Op: 1000}, nil); !rpcauth.IsRefused(err) {
		t.Fatalf("push without the secret: %v, want refused", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	want := "keys a,b x|room test 9|all|mids"
	if got := strings.Join(h.calls, "|"); got != want {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

// countingPusher fails every id divisible by 5.
type countingPusher struct {
	mu   sync.Mutex
	ids  []uint64
	size int
}

func (c *countingPusher) Push(_ context.Context, _ Target, body []byte) error {
	m, err := payload.Decode(body)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, m.ID)
	c.size = len(body)
	if m.ID%5 == 0 {
		return errors.New("refused")
	}
	return nil
}
func (c *countingPusher) Close() error { return nil }

func TestRunSchedule(t *testing.T) {
	p := &countingPusher{}
	var live Counter
	out := Run(context.Background(), p, Plan{Rate: 1000, Count: 100, Size: 64, InFlight: 4}, func(id uint64) (Target, uint32, int64) {
		return Target{Kind: Keys, Keys: []string{"k"}}, uint32(id), 3
	}, &live)
	if out.Attempted != 100 || out.Failed != 20 || len(out.Sent) != 80 || live.Attempted.Load() != 100 || live.Failed.Load() != 20 {
		t.Fatalf("attempted %d failed %d sent %d live %d/%d", out.Attempted, out.Failed, len(out.Sent), live.Attempted.Load(), live.Failed.Load())
	}
	seen := map[uint64]bool{}
	for _, s := range out.Sent {
		if s.ID%5 == 0 || seen[s.ID] || s.Expected != 3 || s.At <= 0 {
			t.Fatalf("bad sent entry %+v", s)
		}
		seen[s.ID] = true
	}
	if p.size != 64 || out.Errors["refused"] != 20 || out.Request.Count() != 100 {
		t.Fatalf("size %d errors %v requests %d", p.size, out.Errors, out.Request.Count())
	}
	if r := out.AchievedRate(); r <= 0 {
		t.Fatalf("achieved rate %v", r)
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	p := &countingPusher{}
	out := Run(context.Background(), p, Plan{Rate: 100, Duration: 200 * time.Millisecond}, func(uint64) (Target, uint32, int64) {
		return Target{Kind: All}, payload.AnyDevice, 1
	}, nil)
	if out.Attempted != 20 {
		t.Fatalf("attempted %d, want 20 (100/s for 200ms)", out.Attempted)
	}
}
