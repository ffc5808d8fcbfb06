package logic

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/goim-edge/goim-edge/control/logic/history"
	histmem "github.com/goim-edge/goim-edge/control/logic/history/memory"
	"github.com/goim-edge/goim-edge/control/logic/history/redisstream"
	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	"github.com/goim-edge/goim-edge/internal/testenv"
	logicrpc "github.com/goim-edge/goim-edge/kitex_gen/logic"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
	pushsvc "github.com/goim-edge/goim-edge/kitex_gen/push/push"
	"github.com/goim-edge/goim-edge/registry"
)

// historyOn keeps history for users and rooms of type live.
func historyOn(c *Config) {
	c.History.Users = history.Limits{Size: 10, TTL: time.Hour}
	c.History.Rooms = []history.RoomLimits{{Type: "live", Size: 10, TTL: time.Hour}}
}

// countingHistory is a real history store that counts the calls made to
// it, to show that targets without history cost no call.
type countingHistory struct {
	history.Store
	calls atomic.Int64
}

func (c *countingHistory) Append(ctx context.Context, t []history.Target, m history.Message) ([]history.Pos, error) {
	c.calls.Add(1)
	return c.Store.Append(ctx, t, m)
}

// historyKinds are the history stores logic is tested on: memory and a
// real redis-server.
func historyKinds(t testing.TB) map[string]history.Store {
	mem := histmem.New(nil)
	t.Cleanup(func() { _ = mem.Close() })
	cfg := redisstore.DefaultConfig()
	cfg.Addr = testenv.Redis(t).Addr
	rs, err := redisstream.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	return map[string]history.Store{"memory": mem, "redis": rs}
}

func withHistory(h history.Store) func(*Deps) { return func(d *Deps) { d.History = h } }

// TestKitexPushPositions: the Kitex push calls answer the positions in
// the target streams, the queue messages carry them, and History and
// Position read them back.
func TestKitexPushPositions(t *testing.T) {
	for name, hs := range historyKinds(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, logictest.MemoryStore(t), historyOn, withHistory(hs))
			addRoutes(t, h.st, store.Route{Mid: 1, Key: "k1", Server: "edge-a"})
			cli, err := pushsvc.NewClient(registry.ServiceLogic, client.WithHostPorts(serveKitex(t, h.l)), client.WithRPCTimeout(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := cli.PushMids(ctx, &push.PushMidsReq{Op: 1000, Mids: []int64{1, 2, 0}, Body: []byte("m1")})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Positions) != 2 || resp.Positions[0].Stream != "user:1" || resp.Positions[1].Stream != "user:2" || resp.Positions[0].Offset != 1 || resp.Positions[1].Offset != 1 {
				t.Fatalf("PushMids positions %+v, want user:1 and user:2 at 1 (mid 0 has no stream)", resp.Positions)
			}
			ep := resp.Positions[0].Epoch
			got := h.take(t)
			if len(got) != 1 || len(got[0].Positions) != 2 || got[0].Positions[0].Offset != 1 || got[0].Positions[0].Epoch != ep {
				t.Fatalf("queued %+v, want the positions on the message", got)
			}
			resp, err = cli.PushKeys(ctx, &push.PushKeysReq{Op: 1001, Keys: []string{"k1", "nobody"}, Body: []byte("k1")})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Positions) != 1 || resp.Positions[0].Stream != "user:1" || resp.Positions[0].Offset != 2 || resp.Positions[0].Epoch != ep {
				t.Fatalf("PushKeys positions %+v, want user:1 at 2", resp.Positions)
			}
			h.take(t)
			resp, err = cli.PushRoom(ctx, &push.PushRoomReq{Op: 1000, Type: "live", Room: "1000", Body: []byte("r")})
			if err != nil || len(resp.Positions) != 1 || resp.Positions[0].Stream != "room:live://1000" || resp.Positions[0].Offset != 1 {
				t.Fatalf("PushRoom = %+v, %v", resp, err)
			}
			h.take(t)
			resp, err = cli.PushRoom(ctx, &push.PushRoomReq{Op: 1000, Type: "chat", Room: "1", Body: []byte("r")})
			if err != nil || resp.IsSetPositions() || len(resp.MsgIds) != 1 {
				t.Fatalf("PushRoom to a type without history = %+v, %v; want no positions", resp, err)
			}
			if q := h.take(t); len(q) != 1 || q[0].IsSetPositions() {
				t.Fatalf("queued %+v, want no positions", q)
			}

			hr, err := cli.History(ctx, &push.HistoryReq{Stream: "user:1"})
			if err != nil {
				t.Fatal(err)
			}
			if !hr.Recovered || len(hr.Messages) != 2 || string(hr.Messages[0].Body) != "m1" || hr.Messages[1].Op != 1001 || hr.Position.Offset != 2 || hr.Position.Epoch != ep {
				t.Fatalf("History(user:1) = %+v", hr)
			}
			hr, err = cli.History(ctx, &push.HistoryReq{Stream: "user:1", Epoch: "lost", Offset: 1, Limit: 1})
			if err != nil || hr.Recovered || len(hr.Messages) != 1 || hr.Messages[0].Offset != 2 {
				t.Fatalf("History from another epoch = %+v, %v; want not recovered, the newest", hr, err)
			}
			pr, err := cli.Position(ctx, &push.PositionReq{Stream: "room:live://1000"})
			if err != nil || pr.Position.Offset != 1 || pr.Position.Epoch == "" || pr.IsSetAcked() {
				t.Fatalf("Position = %+v, %v", pr, err)
			}
			// A user stream's position also tells the acknowledged one.
			if pr, err := cli.Position(ctx, &push.PositionReq{Stream: "user:1"}); err != nil || pr.IsSetAcked() {
				t.Fatalf("Position(user:1) before any ack = %+v, %v", pr, err)
			}
			if ar, err := h.l.Ack(ctx, &logicrpc.AckReq{Mid: 1, Epoch: ep, Offset: 1}); err != nil || ar.Result_ != "advanced" {
				t.Fatalf("Ack = %+v, %v", ar, err)
			}
			if pr, err := cli.Position(ctx, &push.PositionReq{Stream: "user:1"}); err != nil || pr.GetAcked().GetOffset() != 1 || pr.GetAcked().GetEpoch() != ep || pr.Position.Offset != 2 {
				t.Fatalf("Position(user:1) after an ack at 1 = %+v, %v", pr, err)
			}
			for _, req := range []*push.HistoryReq{{Stream: "room:chat://1"}, {Stream: "nope"}, {Stream: "user:1", Offset: 4}, {Stream: "user:1", Limit: -1}} {
				_, err := cli.History(ctx, req)
				var pe *push.PushError
				if !errors.As(err, &pe) || pe.Code != CodeBadRequest {
					t.Errorf("History(%+v) = %v, want PushError -400", req, err)
				}
			}
		})
	}
}

// TestHistoryOffCostsNothing: with history off for a target, a push makes
// no history call and the queue message has no positions.
func TestHistoryOffCostsNothing(t *testing.T) {
	ctx := context.Background()
	hs := &countingHistory{Store: histmem.New(nil)}
	defer hs.Store.Close()
	rooms := func(c *Config) { c.History.Rooms = []history.RoomLimits{{Type: "live", Size: 10, TTL: time.Hour}} }
	h := newHarness(t, logictest.MemoryStore(t), rooms, withHistory(hs))
	addRoutes(t, h.st, store.Route{Mid: 1, Key: "k1", Server: "edge-a"})
	if _, err := h.l.EnqueueMids(ctx, 1000, []int64{1}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.l.EnqueueKeys(ctx, 1000, []string{"k1"}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.l.EnqueueRoom(ctx, 1000, "chat", "1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.l.EnqueueAll(ctx, 1000, 0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, m := range h.take(t) {
		if m.IsSetPositions() {
			t.Errorf("message %+v has positions with history off", m)
		}
	}
	if n := hs.calls.Load(); n != 0 {
		t.Fatalf("%d history calls for targets without history", n)
	}
	if _, err := h.l.EnqueueRoom(ctx, 1000, "live", "1", []byte("x")); err != nil || hs.calls.Load() != 1 {
		t.Fatalf("room with history: %v, %d calls", err, hs.calls.Load())
	}
}

// TestHistoryNeedsStore: history on without a store is a start error.
func TestHistoryNeedsStore(t *testing.T) {
	cfg := DefaultConfig()
	historyOn(&cfg)
	_, err := New(cfg, Deps{Store: logictest.MemoryStore(t), Queue: nil, Auth: logictest.Auth(t)})
	if err == nil {
		t.Fatal("New with history on and no history store: no error")
	}
}

// BenchmarkEnqueueHistory is a push by mid to one connected user with
// user history off, and on (memory and Redis history).
//
//	go test -run '^$' -bench EnqueueHistory -benchtime 20000x ./control/logic/
func BenchmarkEnqueueHistory(b *testing.B) {
	kinds := historyKinds(b)
	for _, tc := range []struct {
		name string
		hs   history.Store
	}{{"off", nil}, {"memory", kinds["memory"]}, {"redis", kinds["redis"]}} {
		b.Run(tc.name, func(b *testing.B) {
			var mod func(*Config)
			if tc.hs != nil {
				mod = historyOn
			}
			h := newHarness(b, logictest.MemoryStore(b), mod, withHistory(tc.hs))
			h.discard.Store(true)
			for i := 0; i < 1000; i++ {
				addRoutes(b, h.st, store.Route{Mid: int64(i + 1), Key: fmt.Sprintf("k%d", i), Server: fmt.Sprintf("edge-%d", i%4)})
			}
			body := []byte("bench body")
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := h.l.EnqueueMids(ctx, 1000, []int64{int64(i%1000 + 1)}, body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pushes/s")
		})
	}
}

// TestTwoLogicsOneStream: two logic instances pushing to one room at once
// (history in one Redis) answer distinct, consecutive offsets in one epoch.
func TestTwoLogicsOneStream(t *testing.T) {
	cfg := redisstore.DefaultConfig()
	cfg.Addr = testenv.Redis(t).Addr
	var ls [2]*Logic
	for i := range ls {
		hs, err := redisstream.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = hs.Close() })
		h := newHarness(t, logictest.MemoryStore(t), historyOn, withHistory(hs))
		h.discard.Store(true)
		ls[i] = h.l
	}
	const each = 100
	offsets := make(chan history.Pos, 2*each)
	errc := make(chan error, 2)
	for _, l := range ls {
		go func() {
			for i := 0; i < each; i++ {
				e, err := l.EnqueueRoomAt(context.Background(), 1000, "live", "1", []byte("x"))
				if err != nil {
					errc <- err
					return
				}
				offsets <- e.Positions[0]
			}
			errc <- nil
		}()
	}
	for range ls {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	close(offsets)
	seen := map[int64]bool{}
	epochs := map[string]bool{}
	for p := range offsets {
		if seen[p.Offset] {
			t.Fatalf("offset %d answered twice", p.Offset)
		}
		seen[p.Offset], epochs[p.Epoch] = true, true
	}
	for o := int64(1); o <= 2*each; o++ {
		if !seen[o] {
			t.Fatalf("offset %d missing of 1..%d", o, 2*each)
		}
	}
	if len(epochs) != 1 {
		t.Fatalf("epochs %v", epochs)
	}
}
