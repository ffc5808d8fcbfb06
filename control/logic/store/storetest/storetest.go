// Package storetest is the behaviour every store.Store must have. Each
// implementation's tests call Run with a constructor for a fresh, empty
// store backed by the real thing (a map, a real redis-server).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// long is a ttl no test outlives.
const long = time.Hour

// Run runs the whole suite; newStore must return an empty store and arrange
// its cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AddAndLookup", testAddAndLookup},
		{"AddReplacesServer", testAddReplacesServer},
		{"KeyMovesToAnotherMid", testKeyMovesToAnotherMid},
		{"DelRoute", testDelRoute},
		{"LateDisconnectKeepsNewerRoute", testLateDisconnect},
		{"RouteExpires", testRouteExpires},
		{"RenewExtends", testRenewExtends},
		{"RenewFromOldServerIgnored", testRenewFromOldServer},
		{"RenewMissingDoesNotCreate", testRenewMissing},
		{"KeysByMidsSeveralDevices", testKeysByMids},
		{"UnknownAbsent", testUnknownAbsent},
		{"InvalidInput", testInvalidInput},
		{"OnlineAggregatesEdges", testOnlineAggregates},
		{"OnlineReportReplacesPrevious", testOnlineReplaces},
		{"StaleEdgeAgesOut", testStaleEdge},
		{"Concurrent", testConcurrent},
		{"EpochStable", testEpochStable},
		{"RestoreRoutes", testRestoreRoutes},
		{"RestoreKeepsNewerRouteElsewhere", testRestoreKeepsNewer},
		{"RestoreInvalid", testRestoreInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustAdd(t *testing.T, s store.Store, r store.Route, ttl time.Duration) {
	t.Helper()
	if err := s.AddRoute(ctx(t), r, ttl); err != nil {
		t.Fatalf("AddRoute(%+v): %v", r, err)
	}
}

func servers(t *testing.T, s store.Store, keys ...string) map[string]string {
	t.Helper()
	m, err := s.ServersByKeys(ctx(t), keys)
	if err != nil {
		t.Fatalf("ServersByKeys(%v): %v", keys, err)
	}
	if m == nil {
		t.Fatalf("ServersByKeys(%v) = nil map", keys)
	}
	return m
}

func byMids(t *testing.T, s store.Store, mids ...int64) map[string]string {
	t.Helper()
	m, err := s.KeysByMids(ctx(t), mids)
	if err != nil {
		t.Fatalf("KeysByMids(%v): %v", mids, err)
	}
	if m == nil {
		t.Fatalf("KeysByMids(%v) = nil map", mids)
	}
	return m
}

func rooms(t *testing.T, s store.Store) map[string]int64 {
	t.Helper()
	m, err := s.RoomCounts(ctx(t))
	if err != nil {
		t.Fatalf("RoomCounts: %v", err)
	}
	if m == nil {
		t.Fatal("RoomCounts = nil map")
	}
	return m
}

func totals(t *testing.T, s store.Store) [2]int64 {
	t.Helper()
	c, i, err := s.Totals(ctx(t))
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	return [2]int64{c, i}
}

func wantMap[K comparable, V comparable](t *testing.T, what string, got, want map[K]V) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// eventually polls cond until it holds or the deadline passes; expiry is
// Redis's (or the clock's) business, so tests wait for it instead of
// assuming its exact moment.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testAddAndLookup(t *testing.T, s store.Store) {
	mustAdd(t, s, store.Route{Mid: 7, Key: "k1", Server: "edge-a"}, long)
	wantMap(t, "ServersByKeys", servers(t, s, "k1"), map[string]string{"k1": "edge-a"})
	wantMap(t, "KeysByMids", byMids(t, s, 7), map[string]string{"k1": "edge-a"})
	// mid 0 is goim's anonymous user and must work like any other.
	mustAdd(t, s, store.Route{Mid: 0, Key: "anon", Server: "edge-b"}, long)
	wantMap(t, "KeysByMids(0)", byMids(t, s, 0), map[string]string{"anon": "edge-b"})
	mids, err := s.MidsByKeys(ctx(t), []string{"k1", "anon", "unknown"})
	if err != nil {
		t.Fatalf("MidsByKeys: %v", err)
	}
	wantMap(t, "MidsByKeys", mids, map[string]int64{"k1": 7, "anon": 0})
}

func testAddReplacesServer(t *testing.T, s store.Store) {
	mustAdd(t, s, store.Route{Mid: 7, Key: "k1", Server: "edge-a"}, long)
	mustAdd(t, s, store.Route{Mid: 7, Key: "k1", Server: "edge-b"}, long)
	wantMap(t, "ServersByKeys", servers(t, s, "k1"), map[string]string{"k1": "edge-b"})
	wantMap(t, "KeysByMids", byMids(t, s, 7), map[string]string{"k1": "edge-b"})
}

func testKeyMovesToAnotherMid(t *testing.T, s store.Store) {
	mustAdd(t, s, store.Route{Mid: 1, Key: "shared", Server: "edge-a"}, long)
	mustAdd(t, s, store.Route{Mid: 2, Key: "shared", Server: "edge-a"}, long)
	wantMap(t, "KeysByMids(1)", byMids(t, s, 1), map[string]string{})
	wantMap(t, "KeysByMids(2)", byMids(t, s, 2), map[string]string{"shared": "edge-a"})
	wantMap(t, "KeysByMids(1,2)", byMids(t, s, 1, 2), map[string]string{"shared": "edge-a"})
	wantMap(t, "KeysByMids(2,1)", byMids(t, s, 2, 1), map[string]string{"shared": "edge-a"})
	// Moved again, to another edge: only the newest (mid, server) counts.
	mustAdd(t, s, store.Route{Mid: 1, Key: "shared", Server: "edge-b"}, long)
	wantMap(t, "KeysByMids(2) after moving back", byMids(t, s, 2), map[string]string{})
	wantMap(t, "KeysByMids(2,1) after moving back", byMids(t, s, 2, 1), map[string]string{"shared": "edge-b"})
}

func testDelRoute(t *testing.T, s store.Store) {
	r := store.Route{Mid: 7, Key: "k1", Server: "edge-a"}
	mustAdd(t, s, r, long)
	mustAdd(t, s, store.Route{Mid: 7, Key: "k2", Server: "edge-a"}, long)
	removed, err := s.DelRoute(ctx(t), r)
	if err != nil || !removed {
		t.Fatalf("DelRoute = %v, %v; want true, nil", removed, err)
	}
	wantMap(t, "ServersByKeys", servers(t, s, "k1", "k2"), map[string]string{"k2": "edge-a"})
	wantMap(t, "KeysByMids", byMids(t, s, 7), map[string]string{"k2": "edge-a"})
	removed, err = s.DelRoute(ctx(t), r)
	if err != nil || removed {
		t.Fatalf("second DelRoute = %v, %v; want false, nil", removed, err)
	}
}

func testLateDisconnect(t *testing.T, s store.Store) {
	old := store.Route{Mid: 7, Key: "k1", Server: "edge-old"}
	mustAdd(t, s, old, long)
	mustAdd(t, s, store.Route{Mid: 7, Key: "k1", Server: "edge-new"}, long)
	removed, err := s.DelRoute(ctx(t), old)
	if err != nil || removed {
		t.Fatalf("late DelRoute from old edge = %v, %v; want false, nil", removed, err)
	}
	wantMap(t, "ServersByKeys", servers(t, s, "k1"), map[string]string{"k1": "edge-new"})
	wantMap(t, "KeysByMids", byMids(t, s, 7), map[string]string{"k1": "edge-new"})
}

func testRouteExpires(t *testing.T, s store.Store) {
	mustAdd(t, s, store.Route{Mid: 7, Key: "short", Server: "edge-a"}, 300*time.Millisecond)
	mustAdd(t, s, store.Route{Mid: 7, Key: "lasting", Server: "edge-a"}, long)
	wantMap(t, "ServersByKeys at once", servers(t, s, "short"), map[string]string{"short": "edge-a"})
	eventually(t, 5*time.Second, "short route expires", func() bool {
		return len(servers(t, s, "short")) == 0
	})
	wantMap(t, "KeysByMids after expiry", byMids(t, s, 7), map[string]string{"lasting": "edge-a"})
}

func testRenewExtends(t *testing.T, s store.Store) {
	r := store.Route{Mid: 7, Key: "k1", Server: "edge-a"}
	start := time.Now()
	mustAdd(t, s, r, time.Second)
	if err := s.RenewRoute(ctx(t), r, long); err != nil {
		t.Fatalf("RenewRoute: %v", err)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Fatalf("machine too slow for the test: add+renew took %v", time.Since(start))
	}
	time.Sleep(time.Until(start.Add(1500 * time.Millisecond)))
	wantMap(t, "ServersByKeys after original ttl", servers(t, s, "k1"), map[string]string{"k1": "edge-a"})
	wantMap(t, "KeysByMids after original ttl", byMids(t, s, 7), map[string]string{"k1": "edge-a"})
}

func testRenewFromOldServer(t *testing.T, s store.Store) {
	mustAdd(t, s, store.Route{Mid: 7, Key: "k1", Server: "edge-new"}, 300*time.Millisecond)
	if err := s.RenewRoute(ctx(t), store.Route{Mid: 7, Key: "k1", Server: "edge-old"}, long); err != nil {
		t.Fatalf("RenewRoute: %v", err)
	}
	eventually(t, 5*time.Second, "route expires despite the old edge's renew", func() bool {
		return len(servers(t, s, "k1")) == 0
	})
}

func testRenewMissing(t *testing.T, s store.Store) {
	if err := s.RenewRoute(ctx(t), store.Route{Mid: 7, Key: "ghost", Server: "edge-a"}, long); err != nil {
		t.Fatalf("RenewRoute: %v", err)
	}
	wantMap(t, "ServersByKeys", servers(t, s, "ghost"), map[string]string{})
	wantMap(t, "KeysByMids", byMids(t, s, 7), map[string]string{})
}

func testKeysByMids(t *testing.T, s store.Store) {
	for _, r := range []store.Route{
		{Mid: 1, Key: "phone", Server: "edge-a"},
		{Mid: 1, Key: "web", Server: "edge-b"},
		{Mid: 1, Key: "tablet", Server: "edge-a"},
		{Mid: 2, Key: "other", Server: "edge-c"},
		{Mid: 3, Key: "not-asked", Server: "edge-c"},
	} {
		mustAdd(t, s, r, long)
	}
	wantMap(t, "KeysByMids(1,2,404)", byMids(t, s, 1, 2, 404), map[string]string{
		"phone": "edge-a", "web": "edge-b", "tablet": "edge-a", "other": "edge-c",
	})
	wantMap(t, "KeysByMids(1,1)", byMids(t, s, 1, 1), map[string]string{
		"phone": "edge-a", "web": "edge-b", "tablet": "edge-a",
	})
}

func testUnknownAbsent(t *testing.T, s store.Store) {
	mustAdd(t, s, store.Route{Mid: 1, Key: "known", Server: "edge-a"}, long)
	wantMap(t, "ServersByKeys", servers(t, s, "known", "unknown", ""), map[string]string{"known": "edge-a"})
	wantMap(t, "ServersByKeys(none)", servers(t, s), map[string]string{})
	wantMap(t, "KeysByMids(none)", byMids(t, s), map[string]string{})
	wantMap(t, "KeysByMids(unknown)", byMids(t, s, 99), map[string]string{})
	wantMap(t, "RoomCounts of empty", rooms(t, s), map[string]int64{})
	if got := totals(t, s); got != [2]int64{} {
		t.Fatalf("Totals of empty = %v, want zeros", got)
	}
}

func testInvalidInput(t *testing.T, s store.Store) {
	c := ctx(t)
	cases := []struct {
		name string
		err  error
	}{
		{"AddRoute empty key", s.AddRoute(c, store.Route{Mid: 1, Server: "e"}, long)},
		{"AddRoute empty server", s.AddRoute(c, store.Route{Mid: 1, Key: "k"}, long)},
		{"AddRoute zero ttl", s.AddRoute(c, store.Route{Mid: 1, Key: "k", Server: "e"}, 0)},
		{"RenewRoute negative ttl", s.RenewRoute(c, store.Route{Mid: 1, Key: "k", Server: "e"}, -time.Second)},
		{"PutOnline empty server", s.PutOnline(c, store.Online{ConnCount: 1}, long)},
		{"PutOnline zero ttl", s.PutOnline(c, store.Online{Server: "e"}, 0)},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want store.ErrInvalid", tc.name, tc.err)
		}
	}
	if _, err := s.DelRoute(c, store.Route{Mid: 1, Server: "e"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("DelRoute empty key: err = %v, want store.ErrInvalid", err)
	}
	wantMap(t, "ServersByKeys after refusals", servers(t, s, "k"), map[string]string{})
}

func testOnlineAggregates(t *testing.T, s store.Store) {
	put := func(o store.Online) {
		t.Helper()
		if err := s.PutOnline(ctx(t), o, long); err != nil {
			t.Fatalf("PutOnline(%s): %v", o.Server, err)
		}
	}
	put(store.Online{Server: "edge-a", RoomCount: map[string]int32{"live://1": 2, "live://2": 3}, ConnCount: 10, IPCount: 4, Updated: time.Now()})
	put(store.Online{Server: "edge-b", RoomCount: map[string]int32{"live://1": 5, "test://1": 1, "live://0": 0}, ConnCount: 6, IPCount: 6, Updated: time.Now()})
	put(store.Online{Server: "edge-idle", ConnCount: 0, IPCount: 0})
	wantMap(t, "RoomCounts", rooms(t, s), map[string]int64{"live://1": 7, "live://2": 3, "test://1": 1})
	if got := totals(t, s); got != [2]int64{16, 10} {
		t.Fatalf("Totals = %v, want [16 10]", got)
	}
}

func testOnlineReplaces(t *testing.T, s store.Store) {
	put := func(o store.Online) {
		t.Helper()
		if err := s.PutOnline(ctx(t), o, long); err != nil {
			t.Fatalf("PutOnline(%s): %v", o.Server, err)
		}
	}
	put(store.Online{Server: "edge-a", RoomCount: map[string]int32{"live://1": 2, "live://2": 3}, ConnCount: 5, IPCount: 5})
	put(store.Online{Server: "edge-b", RoomCount: map[string]int32{"live://1": 1}, ConnCount: 1, IPCount: 1})
	// edge-a's rooms emptied: live://2 must vanish, not linger at 0 or at 3.
	put(store.Online{Server: "edge-a", RoomCount: map[string]int32{"live://1": 4, "live://2": 0}, ConnCount: 4, IPCount: 2})
	wantMap(t, "RoomCounts", rooms(t, s), map[string]int64{"live://1": 5})
	if got := totals(t, s); got != [2]int64{5, 3} {
		t.Fatalf("Totals = %v, want [5 3]", got)
	}
	put(store.Online{Server: "edge-a"})
	put(store.Online{Server: "edge-b"})
	wantMap(t, "RoomCounts after all left", rooms(t, s), map[string]int64{})
	if got := totals(t, s); got != [2]int64{} {
		t.Fatalf("Totals after all left = %v, want zeros", got)
	}
}

func testStaleEdge(t *testing.T, s store.Store) {
	if err := s.PutOnline(ctx(t), store.Online{Server: "edge-live", RoomCount: map[string]int32{"live://1": 2}, ConnCount: 2, IPCount: 1}, long); err != nil {
		t.Fatal(err)
	}
	if err := s.PutOnline(ctx(t), store.Online{Server: "edge-dead", RoomCount: map[string]int32{"live://1": 3, "live://9": 9}, ConnCount: 12, IPCount: 3}, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	wantMap(t, "RoomCounts at once", rooms(t, s), map[string]int64{"live://1": 5, "live://9": 9})
	eventually(t, 5*time.Second, "dead edge's counts age out", func() bool {
		return maps.Equal(rooms(t, s), map[string]int64{"live://1": 2})
	})
	if got := totals(t, s); got != [2]int64{2, 1} {
		t.Fatalf("Totals after dead edge aged out = %v, want [2 1]", got)
	}
}

// testConcurrent hammers one store from many goroutines (run it with -race)
// and checks that the state afterwards is exactly what the last writes say.
func testConcurrent(t *testing.T, s store.Store) {
	const workers, perWorker = 8, 50
	c := ctx(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			server := fmt.Sprintf("edge-%d", w)
			for i := range perWorker {
				key := fmt.Sprintf("w%d-k%d", w, i)
				r := store.Route{Mid: int64(w), Key: key, Server: server}
				if err := s.AddRoute(c, r, long); err != nil {
					errs <- err
					return
				}
				if err := s.RenewRoute(c, r, long); err != nil {
					errs <- err
				}
				// Every worker also fights over one shared key.
				if err := s.AddRoute(c, store.Route{Mid: 1000, Key: "contended", Server: server}, long); err != nil {
					errs <- err
				}
				if i%2 == 1 {
					if removed, err := s.DelRoute(c, r); err != nil || !removed {
						errs <- fmt.Errorf("DelRoute(%s) = %v, %v", key, removed, err)
					}
				}
				if _, err := s.KeysByMids(c, []int64{int64(w), 1000}); err != nil {
					errs <- err
				}
				if err := s.PutOnline(c, store.Online{Server: server, RoomCount: map[string]int32{"live://1": int32(i + 1)}, ConnCount: int32(i + 1)}, long); err != nil {
					errs <- err
				}
				if _, err := s.RoomCounts(c); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range workers {
		want := map[string]string{}
		for i := 0; i < perWorker; i += 2 {
			want[fmt.Sprintf("w%d-k%d", w, i)] = fmt.Sprintf("edge-%d", w)
		}
		wantMap(t, fmt.Sprintf("KeysByMids(%d)", w), byMids(t, s, int64(w)), want)
	}
	if got := servers(t, s, "contended"); len(got) != 1 {
		t.Fatalf("contended key = %v, want exactly one server", got)
	}
	wantMap(t, "RoomCounts", rooms(t, s), map[string]int64{"live://1": workers * perWorker})
	if got := totals(t, s); got[0] != workers*perWorker {
		t.Fatalf("Totals conns = %d, want %d", got[0], workers*perWorker)
	}
}

// testEpochStable: a store that keeps its data keeps its epoch.
func testEpochStable(t *testing.T, s store.Store) {
	e1, err := s.Epoch(ctx(t))
	if err != nil || e1 == "" {
		t.Fatalf("Epoch = %q, %v; want a non-empty epoch", e1, err)
	}
	mustAdd(t, s, store.Route{Mid: 1, Key: "k1", Server: "edge-a"}, long)
	for range 3 {
		e2, err := s.Epoch(ctx(t))
		if err != nil || e2 != e1 {
			t.Fatalf("Epoch again = %q, %v; want %q", e2, err, e1)
		}
	}
}

// testRestoreRoutes: routes the store lost come back, a route to the same
// server is rewritten, and the mid index follows.
func testRestoreRoutes(t *testing.T, s store.Store) {
	mustAdd(t, s, store.Route{Mid: 7, Key: "kept", Server: "edge-a"}, long)
	n, err := s.RestoreRoutes(ctx(t), []store.Route{
		{Mid: 7, Key: "kept", Server: "edge-a"},
		{Mid: 7, Key: "lost-1", Server: "edge-a"},
		{Mid: 8, Key: "lost-2", Server: "edge-a"},
	}, long)
	if err != nil || n != 3 {
		t.Fatalf("RestoreRoutes = %d, %v; want 3, nil", n, err)
	}
	wantMap(t, "KeysByMids", byMids(t, s, 7, 8), map[string]string{"kept": "edge-a", "lost-1": "edge-a", "lost-2": "edge-a"})
	if n, err := s.RestoreRoutes(ctx(t), nil, long); err != nil || n != 0 {
		t.Fatalf("RestoreRoutes(nil) = %d, %v", n, err)
	}
	// A restored route is an ordinary one: it expires and can be deleted.
	removed, err := s.DelRoute(ctx(t), store.Route{Mid: 8, Key: "lost-2", Server: "edge-a"})
	if err != nil || !removed {
		t.Fatalf("DelRoute of a restored route = %v, %v", removed, err)
	}
	if n, err := s.RestoreRoutes(ctx(t), []store.Route{{Mid: 9, Key: "brief", Server: "edge-a"}}, 300*time.Millisecond); err != nil || n != 1 {
		t.Fatalf("RestoreRoutes(brief) = %d, %v", n, err)
	}
	eventually(t, 5*time.Second, "restored route expires", func() bool { return len(servers(t, s, "brief")) == 0 })
}

// testRestoreKeepsNewer: an edge restoring a key that has meanwhile
// connected to another edge leaves the newer route alone.
func testRestoreKeepsNewer(t *testing.T, s store.Store) {
	mustAdd(t, s, store.Route{Mid: 7, Key: "moved", Server: "edge-new"}, long)
	n, err := s.RestoreRoutes(ctx(t), []store.Route{
		{Mid: 7, Key: "moved", Server: "edge-old"},
		{Mid: 7, Key: "mine", Server: "edge-old"},
	}, long)
	if err != nil || n != 1 {
		t.Fatalf("RestoreRoutes = %d, %v; want 1, nil", n, err)
	}
	wantMap(t, "ServersByKeys", servers(t, s, "moved", "mine"), map[string]string{"moved": "edge-new", "mine": "edge-old"})
	wantMap(t, "KeysByMids", byMids(t, s, 7), map[string]string{"moved": "edge-new", "mine": "edge-old"})
	// An expired route elsewhere is no route: the restore takes the key.
	mustAdd(t, s, store.Route{Mid: 7, Key: "lapsed", Server: "edge-new"}, 200*time.Millisecond)
	eventually(t, 5*time.Second, "route expires", func() bool { return len(servers(t, s, "lapsed")) == 0 })
	if n, err := s.RestoreRoutes(ctx(t), []store.Route{{Mid: 7, Key: "lapsed", Server: "edge-old"}}, long); err != nil || n != 1 {
		t.Fatalf("RestoreRoutes over an expired route = %d, %v; want 1, nil", n, err)
	}
}

// testRestoreInvalid: a page with a bad route is refused whole.
func testRestoreInvalid(t *testing.T, s store.Store) {
	_, err := s.RestoreRoutes(ctx(t), []store.Route{{Mid: 1, Key: "ok", Server: "e"}, {Mid: 1, Server: "e"}}, long)
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("RestoreRoutes with an empty key: err = %v, want store.ErrInvalid", err)
	}
	if _, err := s.RestoreRoutes(ctx(t), []store.Route{{Mid: 1, Key: "ok", Server: "e"}}, 0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("RestoreRoutes with ttl 0: err = %v, want store.ErrInvalid", err)
	}
	wantMap(t, "ServersByKeys after refusals", servers(t, s, "ok"), map[string]string{})
}
