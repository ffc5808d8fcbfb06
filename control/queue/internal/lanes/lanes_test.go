package lanes

import (
	"strconv"
	"sync"
	"testing"
)

// TestOrderPerKey: items of one key run in submission order, never two at
// once, whatever the number of lanes.
func TestOrderPerKey(t *testing.T) {
	for _, n := range []int{0, 1, 3, 16} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			l := New(n, 4)
			var mu sync.Mutex
			got := map[string][]int{}
			running := map[string]bool{}
			for i := range 500 {
				key := "k" + strconv.Itoa(i%7)
				l.Go(key, func() {
					mu.Lock()
					if running[key] {
						t.Errorf("two items of %s at once", key)
					}
					running[key] = true
					got[key] = append(got[key], i)
					mu.Unlock()
					mu.Lock()
					running[key] = false
					mu.Unlock()
				})
			}
			l.Wait()
			total := 0
			for key, seq := range got {
				for j := 1; j < len(seq); j++ {
					if seq[j] < seq[j-1] {
						t.Fatalf("%s ran out of order: %v", key, seq)
					}
				}
				total += len(seq)
			}
			if total != 500 {
				t.Fatalf("ran %d items, want 500", total)
			}
		})
	}
}
