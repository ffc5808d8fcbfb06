package memory

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// TestMidIndex: a user's keys survive removal in any order (first,
// middle, last), and the index holds nothing once they are all gone.
func TestMidIndex(t *testing.T) {
	orders := [][]string{
		{"a", "b", "c", "d"},
		{"d", "c", "b", "a"},
		{"b", "a", "d", "c"},
		{"c", "d", "a", "b"},
	}
	ctx := context.Background()
	for _, order := range orders {
		s := New()
		for _, k := range []string{"a", "b", "c", "d"} {
			if err := s.AddRoute(ctx, store.Route{Mid: 9, Key: k, Server: "e"}, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		left := []string{"a", "b", "c", "d"}
		for _, k := range order {
			if ok, err := s.DelRoute(ctx, store.Route{Mid: 9, Key: k, Server: "e"}); err != nil || !ok {
				t.Fatalf("order %v: DelRoute(%s) = %v, %v", order, k, ok, err)
			}
			left = slices.DeleteFunc(left, func(x string) bool { return x == k })
			got, err := s.KeysByMids(ctx, []int64{9})
			if err != nil {
				t.Fatal(err)
			}
			if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, left) {
				t.Fatalf("order %v: after deleting %s, keys %v, want %v", order, k, keys, left)
			}
		}
		if len(s.mids) != 0 || len(s.moreKeys) != 0 {
			t.Fatalf("order %v: index not empty: %v %v", order, s.mids, s.moreKeys)
		}
	}
}
