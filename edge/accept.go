package edge

import (
	"slices"
	"strconv"
	"strings"
)

// acceptSet is the ops a connection takes from keys, mids and broadcast
// pushes (room pushes ignore it, as in goim). It is a small sorted slice:
// devices accept a handful of ops, and a slice costs far less per idle
// connection than a map.
type acceptSet []int32

// maxAccepts bounds the set so a device cannot grow it without limit.
const maxAccepts = 256

func newAcceptSet(ops []int32) acceptSet {
	var s acceptSet
	s.add(ops...)
	return s
}

func (s acceptSet) has(op int32) bool {
	_, ok := slices.BinarySearch(s, op)
	return ok
}

func (s *acceptSet) add(ops ...int32) {
	for _, op := range ops {
		i, ok := slices.BinarySearch(*s, op)
		if ok || len(*s) >= maxAccepts {
			continue
		}
		*s = slices.Insert(*s, i, op)
	}
}

func (s *acceptSet) remove(ops ...int32) {
	for _, op := range ops {
		if i, ok := slices.BinarySearch(*s, op); ok {
			*s = slices.Delete(*s, i, i+1)
		}
	}
}

// parseOps reads goim's sub/unsub body: comma-separated op numbers.
// Entries that are not numbers are skipped, as goim does.
func parseOps(body []byte) []int32 {
	var ops []int32
	for _, f := range strings.Split(string(body), ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil {
			continue
		}
		ops = append(ops, int32(n))
	}
	return ops
}
