package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	"github.com/goim-edge/goim-edge/control/logic/store/storetest"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

var prefixes atomic.Int64

// open returns a store on srv with a prefix of its own, so tests sharing
// one redis-server never see each other's keys.
func open(t testing.TB, srv *testenv.Server) *redisstore.Store {
	t.Helper()
	cfg := redisstore.DefaultConfig()
	cfg.Addr = srv.Addr
	cfg.Prefix = "t" + strconv.FormatInt(prefixes.Add(1), 10) + ":"
	s, err := redisstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestStore(t *testing.T) {
	srv := testenv.Redis(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, srv) })
}

// TestRedisOutage: with Redis gone every call fails fast with an error (no
// panic, no hang), and the same Store works again once Redis is back.
func TestRedisOutage(t *testing.T) {
	srv := testenv.Redis(t)
	s := open(t, srv)
	ctx := context.Background()
	r := store.Route{Mid: 1, Key: "k1", Server: "edge-a"}
	if err := s.AddRoute(ctx, r, time.Hour); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	calls := map[string]func(context.Context) error{
		"AddRoute":   func(c context.Context) error { return s.AddRoute(c, r, time.Hour) },
		"RenewRoute": func(c context.Context) error { return s.RenewRoute(c, r, time.Hour) },
		"DelRoute":   func(c context.Context) error { _, err := s.DelRoute(c, r); return err },
		"ServersByKeys": func(c context.Context) error {
			_, err := s.ServersByKeys(c, []string{"k1"})
			return err
		},
		"KeysByMids": func(c context.Context) error { _, err := s.KeysByMids(c, []int64{1}); return err },
		"PutOnline": func(c context.Context) error {
			return s.PutOnline(c, store.Online{Server: "edge-a", ConnCount: 1}, time.Hour)
		},
		"RoomCounts": func(c context.Context) error { _, err := s.RoomCounts(c); return err },
		"Totals":     func(c context.Context) error { _, _, err := s.Totals(c); return err },
		"Ping":       s.Ping,
	}
	for name, call := range calls {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		err := call(c)
		cancel()
		if err == nil {
			t.Errorf("%s with Redis down: no error", name)
			continue
		}
		if errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s with Redis down: %v is not an outage error", name, err)
		}
		t.Logf("%s down: %v in %v", name, err, time.Since(start))
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("%s with Redis down took %v", name, d)
		}
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// Redis restarted empty (no persistence); the store must simply work.
	deadline := time.Now().Add(10 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("store did not reconnect to the restarted Redis")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for name, call := range calls {
		if err := call(ctx); err != nil {
			t.Errorf("%s after Redis came back: %v", name, err)
		}
	}
	if err := s.AddRoute(ctx, r, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := s.ServersByKeys(ctx, []string{"k1"})
	if err != nil || got["k1"] != "edge-a" {
		t.Fatalf("ServersByKeys after restart = %v, %v", got, err)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := redisstore.DefaultConfig()
	bad.Addr = ""
	bad.DialTimeout = 0
	bad.DB = -1
	if _, err := redisstore.New(bad); err == nil {
		t.Fatal("New accepted a config without addr, dial timeout and with db -1")
	}
	if err := redisstore.DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
}

// BenchmarkAddRoute is the Connect path's store write (target ≥ 5,000/s).
func BenchmarkAddRoute(b *testing.B) {
	s := open(b, testenv.Redis(b))
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r := store.Route{Mid: i % 10000, Key: fmt.Sprintf("key-%d", i), Server: "edge-a"}
			if err := s.AddRoute(ctx, r, 30*time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkConnectDisconnect is a full device life: AddRoute, RenewRoute
// (heartbeat), DelRoute.
func BenchmarkConnectDisconnect(b *testing.B) {
	s := open(b, testenv.Redis(b))
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r := store.Route{Mid: i % 10000, Key: fmt.Sprintf("key-%d", i), Server: "edge-a"}
			if err := s.AddRoute(ctx, r, 30*time.Minute); err != nil {
				b.Fatal(err)
			}
			if err := s.RenewRoute(ctx, r, 30*time.Minute); err != nil {
				b.Fatal(err)
			}
			if _, err := s.DelRoute(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lives/s")
}

// BenchmarkKeysByMids is the push/mids lookup for 10 users with 2 devices.
func BenchmarkKeysByMids(b *testing.B) {
	s := open(b, testenv.Redis(b))
	ctx := context.Background()
	mids := make([]int64, 10)
	for i := range mids {
		mids[i] = int64(i)
		for d := range 2 {
			r := store.Route{Mid: int64(i), Key: fmt.Sprintf("k%d-%d", i, d), Server: "edge-a"}
			if err := s.AddRoute(ctx, r, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			got, err := s.KeysByMids(ctx, mids)
			if err != nil || len(got) != 20 {
				b.Fatal(len(got), err)
			}
		}
	})
}

// TestRedisHung: a Redis that accepts connections but never answers (a
// stopped process, a black-holed network) fails calls by the read timeout
// instead of hanging them.
func TestRedisHung(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, never answer
		}
	}()
	cfg := redisstore.DefaultConfig()
	cfg.Addr = l.Addr().String()
	cfg.ReadTimeout = 200 * time.Millisecond
	cfg.WriteTimeout = 200 * time.Millisecond
	cfg.MaxRetries = -1
	s, err := redisstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	err = s.AddRoute(context.Background(), store.Route{Mid: 1, Key: "k", Server: "e"}, time.Hour)
	if err == nil {
		t.Fatal("AddRoute against a silent server succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("AddRoute against a silent server took %v (read timeout 200ms)", d)
	}
	// A caller's deadline shorter than the read timeout wins.
	cfg.ReadTimeout = time.Minute
	s2, err := redisstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := s2.ServersByKeys(ctx, []string{"k"}); err == nil {
		t.Fatal("ServersByKeys against a silent server succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("ServersByKeys with a 200ms deadline took %v", d)
	}
}

// TestACLUser: a deployment with Redis ACLs logs in as its own user, and a
// wrong password is an error, not a hang or a panic.
func TestACLUser(t *testing.T) {
	srv := testenv.Redis(t)
	admin := open(t, srv)
	ctx := context.Background()
	if err := admin.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := redisstore.DefaultConfig()
	cfg.Addr = srv.Addr
	if err := redisstore.SetUserForTest(ctx, admin, "logic", "s3cret"); err != nil {
		t.Fatal(err)
	}
	cfg.Username, cfg.Password = "logic", "s3cret"
	s, err := redisstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddRoute(ctx, store.Route{Mid: 1, Key: "k", Server: "e"}, time.Hour); err != nil {
		t.Fatalf("as ACL user: %v", err)
	}
	cfg.Password = "wrong"
	bad, err := redisstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.AddRoute(ctx, store.Route{Mid: 1, Key: "k", Server: "e"}, time.Hour); err == nil {
		t.Fatal("wrong password accepted")
	}
}

// BenchmarkRoomCounts aggregates 20 edges × 1,000 rooms (the RenewOnline
// read; logic caches it briefly).
func BenchmarkRoomCounts(b *testing.B) {
	s := open(b, testenv.Redis(b))
	ctx := context.Background()
	for e := range 20 {
		rooms := make(map[string]int32, 1000)
		for r := range 1000 {
			rooms[fmt.Sprint("live://", r)] = int32(r%7 + 1)
		}
		if err := s.PutOnline(ctx, store.Online{Server: fmt.Sprint("edge-", e), RoomCount: rooms, ConnCount: 4000}, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := s.RoomCounts(ctx)
		if err != nil || len(got) != 1000 {
			b.Fatal(len(got), err)
		}
	}
}

// TestEpochChangesWhenRedisLosesData: the epoch survives as long as the
// data does, and a FLUSHALL or a restart of a Redis without persistence
// gives a new one.
func TestEpochChangesWhenRedisLosesData(t *testing.T) {
	srv := testenv.Redis(t)
	s, other := open(t, srv), open(t, srv)
	ctx := context.Background()
	epoch := func() string {
		t.Helper()
		var e string
		var err error
		deadline := time.Now().Add(10 * time.Second)
		for e, err = s.Epoch(ctx); err != nil; e, err = s.Epoch(ctx) {
			if time.Now().After(deadline) {
				t.Fatalf("Epoch: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		return e
	}
	e1 := epoch()
	if e1 == "" || epoch() != e1 {
		t.Fatalf("epoch %q not stable", e1)
	}
	// Another deployment (prefix) on the same Redis has its own epoch.
	if e, err := other.Epoch(ctx); err != nil || e == e1 || e == "" {
		t.Fatalf("other prefix's epoch = %q, %v; want its own (not %q)", e, err, e1)
	}
	if err := redisstore.FlushAllForTest(ctx, s); err != nil {
		t.Fatal(err)
	}
	e2 := epoch()
	if e2 == e1 || e2 == "" {
		t.Fatalf("epoch after FLUSHALL = %q, was %q", e2, e1)
	}
	srv.Stop()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if e3 := epoch(); e3 == e2 || e3 == e1 {
		t.Fatalf("epoch after a restart without persistence = %q (before: %q, %q)", e3, e1, e2)
	}
}
