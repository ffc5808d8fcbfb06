// Package tally does the exactly-once accounting: which message ids each
// device has seen (to count duplicates), how many distinct devices got each
// id and when the last one did (to count missing messages and the time to
// reach everyone), and the reconciliation against what the pushers sent.
package tally

// Seen is one device's set of received message ids. Ids are dense from 0 in
// a run, so a bitset costs one bit per message pushed. It is owned by the
// device's reader and not safe for concurrent use.
type Seen struct {
	bits []uint64
}

// Mark records id and reports whether it is the first time.
func (s *Seen) Mark(id uint64) bool {
	w, b := id/64, id%64
	if w >= uint64(len(s.bits)) {
		if w > 1<<26 { // 4 billion ids: a corrupt id, not a run
			return false
		}
		n := max(2*len(s.bits), int(w)+1)
		grown := make([]uint64, n)
		copy(grown, s.bits)
		s.bits = grown
	}
	if s.bits[w]&(1<<b) != 0 {
		return false
	}
	s.bits[w] |= 1 << b
	return true
}

// Has reports whether id was marked.
func (s *Seen) Has(id uint64) bool {
	w := id / 64
	return w < uint64(len(s.bits)) && s.bits[w]&(1<<(id%64)) != 0
}
