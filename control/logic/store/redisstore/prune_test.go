package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// TestIndexPruned: routes of crashed edges (never disconnected) leave the
// mid index once a reader notices, while the user's live routes keep the
// index alive; dead edges leave the online index the same way.
func TestIndexPruned(t *testing.T) {
	srv := testenv.Redis(t)
	cfg := DefaultConfig()
	cfg.Addr = srv.Addr
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.AddRoute(ctx, store.Route{Mid: 9, Key: "live", Server: "edge-a"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dead-1", "dead-2"} {
		if err := s.AddRoute(ctx, store.Route{Mid: 9, Key: k, Server: "edge-crashed"}, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutOnline(ctx, store.Online{Server: "edge-crashed", ConnCount: 2}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// The crashed edge's records run out (50 ms): wait until Redis no
	// longer has them.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, err := s.rdb.Exists(ctx, s.keys.route("dead-1"), s.keys.route("dead-2"), s.keys.online("edge-crashed")).Result()
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("crashed edge's records still there after 10 s: %d, %v", n, err)
		}
	}
	got, err := s.KeysByMids(ctx, []int64{9})
	if err != nil || len(got) != 1 || got["live"] != "edge-a" {
		t.Fatalf("KeysByMids = %v, %v", got, err)
	}
	if n := s.rdb.HLen(ctx, s.keys.mid(9)).Val(); n != 1 {
		t.Fatalf("mid index holds %d fields after pruning, want 1", n)
	}
	if _, _, err := s.Totals(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.rdb.ZCard(ctx, s.keys.edges()).Val(); n != 0 {
		t.Fatalf("edge index holds %d members after the report expired, want 0", n)
	}
}
