package logic

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// TestEpochInEveryAnswer: Connect, Heartbeat, RenewOnline and Epoch all
// name the store's epoch, and a memory store's never changes.
func TestEpochInEveryAnswer(t *testing.T) {
	logictest.EachStore(t, func(t *testing.T, open logictest.Opener) {
		ctx := context.Background()
		h := newHarness(t, open(t), nil)
		want, err := h.st.Epoch(ctx)
		if err != nil || want == "" {
			t.Fatalf("store epoch %q, %v", want, err)
		}
		c, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "edge-a", Token: []byte(`{"mid":1,"key":"k1"}`)})
		if err != nil {
			t.Fatal(err)
		}
		hb, err := h.l.Heartbeat(ctx, &logic.HeartbeatReq{Mid: 1, Key: "k1", Server: "edge-a"})
		if err != nil {
			t.Fatal(err)
		}
		ro, err := h.l.RenewOnline(ctx, &logic.RenewOnlineReq{Server: "edge-a"})
		if err != nil {
			t.Fatal(err)
		}
		ep, err := h.l.Epoch(ctx, &logic.EpochReq{Server: "edge-a"})
		if err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]string{"Connect": c.StoreEpoch, "Heartbeat": hb.StoreEpoch, "RenewOnline": ro.StoreEpoch, "Epoch": ep.StoreEpoch} {
			if got != want {
				t.Errorf("%s store_epoch = %q, want %q", name, got, want)
			}
		}
	})
}

// TestEpochFollowsRedisLoss: after a FLUSHALL logic answers with the new
// epoch within its refresh interval, and Restore writes the edge's routes
// back without taking a key that reconnected elsewhere meanwhile.
func TestEpochFollowsRedisLoss(t *testing.T) {
	ctx := context.Background()
	srv := testenv.Redis(t)
	st := logictest.RedisStoreAt(t, srv.Addr)
	h := newHarness(t, st, func(c *Config) { c.EpochRefresh = 50 * time.Millisecond })
	for _, tok := range []string{`{"mid":1,"key":"k1"}`, `{"mid":2,"key":"k2"}`} {
		if _, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "edge-a", Token: []byte(tok)}); err != nil {
			t.Fatal(err)
		}
	}
	e1, err := h.l.Epoch(ctx, &logic.EpochReq{Server: "edge-a"})
	if err != nil {
		t.Fatal(err)
	}
	logictest.FlushAll(t, srv.Addr)
	var e2 string
	deadline := time.Now().Add(15 * time.Second)
	for {
		ep, err := h.l.Epoch(ctx, &logic.EpochReq{Server: "edge-a"})
		if err == nil && ep.StoreEpoch != e1.StoreEpoch {
			e2 = ep.StoreEpoch
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("epoch still %q after FLUSHALL (err %v)", e1.StoreEpoch, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// k2 reconnected to edge-b before edge-a restores.
	if _, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "edge-b", Token: []byte(`{"mid":2,"key":"k2"}`)}); err != nil {
		t.Fatal(err)
	}
	resp, err := h.l.Restore(ctx, &logic.RestoreReq{Server: "edge-a", StoreEpoch: e2, Routes: []*logic.Route{{Mid: 1, Key: "k1"}, {Mid: 2, Key: "k2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Restored != 1 || resp.StoreEpoch != e2 {
		t.Fatalf("Restore = %+v, want 1 restored in %q", resp, e2)
	}
	got, err := st.KeysByMids(ctx, []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if got["k1"] != "edge-a" || got["k2"] != "edge-b" {
		t.Fatalf("routes after restore = %v", got)
	}
	// Restoring into an epoch that is gone says so.
	resp, err = h.l.Restore(ctx, &logic.RestoreReq{Server: "edge-a", StoreEpoch: e1.StoreEpoch, Routes: []*logic.Route{{Mid: 1, Key: "k1"}}})
	if err != nil || resp.StoreEpoch != e2 {
		t.Fatalf("Restore into the old epoch = %+v, %v; want store_epoch %q", resp, err, e2)
	}
}

func TestRestoreRefusesBadRequests(t *testing.T) {
	h := newHarness(t, logictest.MemoryStore(t), nil)
	ctx := context.Background()
	big := make([]*logic.Route, MaxRestoreRoutes+1)
	for i := range big {
		big[i] = &logic.Route{Mid: 1, Key: "k"}
	}
	for name, req := range map[string]*logic.RestoreReq{
		"no server": {Routes: []*logic.Route{{Mid: 1, Key: "k"}}},
		"empty key": {Server: "e", Routes: []*logic.Route{{Mid: 1}}},
		"nil route": {Server: "e", Routes: []*logic.Route{nil}},
		"too many":  {Server: "e", Routes: big},
	} {
		if _, err := h.l.Restore(ctx, req); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if got, _ := h.st.ServersByKeys(ctx, []string{"k"}); len(got) != 0 {
		t.Fatalf("refused restores wrote %v", got)
	}
	var _ store.Store = h.st
}

// countingStore is a real store that counts its Epoch reads.
type countingStore struct {
	store.Store
	epochs atomic.Int64
}

func (s *countingStore) Epoch(ctx context.Context) (string, error) {
	s.epochs.Add(1)
	return s.Store.Epoch(ctx)
}

// TestEpochCached: edges asking for the epoch all the time cost one store
// read per refresh interval, not one per call.
func TestEpochCached(t *testing.T) {
	st := &countingStore{Store: logictest.RedisStore(t)}
	h := newHarness(t, st, func(c *Config) { c.EpochRefresh = time.Hour })
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, err := h.l.Epoch(ctx, &logic.EpochReq{Server: "edge-a"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := st.epochs.Load(); n < 1 || n > 8 {
		t.Fatalf("800 Epoch calls read the store %d times, want 1 (at most one per concurrent first caller)", n)
	}
}

// TestPushesRefusedWhileRoutesRestore: right after the store lost its
// data, a push by key or mid whose target has no route is refused with
// ErrRestoring (-500: the caller retries) and queues nothing, instead of
// a code 0 that could not be kept; one whose targets all have routes goes
// through. Once the window has passed, a missing target is code 0 again.
func TestPushesRefusedWhileRoutesRestore(t *testing.T) {
	ctx := context.Background()
	srv := testenv.Redis(t)
	st := logictest.RedisStoreAt(t, srv.Addr)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h := newHarness(t, st, func(c *Config) { c.RestoreWindow = 30 * time.Second })
	h.l.now = clock
	for _, tok := range []string{`{"mid":1,"key":"k1"}`, `{"mid":2,"key":"k2"}`} {
		if _, err := h.l.Connect(ctx, &logic.ConnectReq{Server: "edge-a", Token: []byte(tok)}); err != nil {
			t.Fatal(err)
		}
	}
	// Before any loss an unknown target is not an error.
	if _, err := h.l.EnqueueMids(ctx, 1000, []int64{99}, []byte("x")); err != nil {
		t.Fatalf("unknown mid before a loss: %v", err)
	}
	h.take(t)

	logictest.FlushAll(t, srv.Addr)
	// Edge-a restored k1 only so far.
	if _, err := h.l.Restore(ctx, &logic.RestoreReq{Server: "edge-a", Routes: []*logic.Route{{Mid: 1, Key: "k1"}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		push   func() ([]string, error)
		refuse bool
	}{
		{"mid restored", func() ([]string, error) { return h.l.EnqueueMids(ctx, 1000, []int64{1}, []byte("x")) }, false},
		{"key restored", func() ([]string, error) { return h.l.EnqueueKeys(ctx, 1000, []string{"k1"}, []byte("x")) }, false},
		{"mid not yet restored", func() ([]string, error) { return h.l.EnqueueMids(ctx, 1000, []int64{2}, []byte("x")) }, true},
		{"key not yet restored", func() ([]string, error) { return h.l.EnqueueKeys(ctx, 1000, []string{"k2"}, []byte("x")) }, true},
		{"mids, one not yet restored", func() ([]string, error) { return h.l.EnqueueMids(ctx, 1000, []int64{1, 2}, []byte("x")) }, true},
		{"keys, one not yet restored", func() ([]string, error) { return h.l.EnqueueKeys(ctx, 1000, []string{"k1", "k2"}, []byte("x")) }, true},
	}
	for _, c := range cases {
		ids, err := c.push()
		if c.refuse {
			if !errors.Is(err, ErrRestoring) || Code(err) != CodeServer || len(ids) != 0 {
				t.Errorf("%s: ids %v err %v, want ErrRestoring (-500) and nothing queued", c.name, ids, err)
			}
			if got := h.take(t); len(got) != 0 {
				t.Errorf("%s: %d messages queued by a refused push", c.name, len(got))
			}
			continue
		}
		if err != nil || len(ids) != 1 {
			t.Errorf("%s: ids %v err %v, want one message", c.name, ids, err)
		}
		h.take(t)
	}

	advance(31 * time.Second)
	if _, err := h.l.EnqueueMids(ctx, 1000, []int64{2}, []byte("x")); err != nil {
		t.Fatalf("missing mid after the restore window: %v, want code 0", err)
	}
}
