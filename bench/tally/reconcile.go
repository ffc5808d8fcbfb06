package tally

import "time"

// Sent is one message a pusher sent successfully and how many devices
// should receive it.
type Sent struct {
	ID       uint64
	At       int64 // unix nanos, as in the body
	Expected int64
}

// Accounting is the exactly-once verdict of a run.
type Accounting struct {
	// Messages is the number of successful pushes.
	Messages int64 `json:"messages"`
	// Expected is the number of deliveries the pushes should have made.
	Expected int64 `json:"expected"`
	// Delivered counts expected deliveries that happened (each device/id
	// pair once).
	Delivered int64 `json:"delivered"`
	// Missing is Expected − Delivered.
	Missing int64 `json:"missing"`
	// Duplicates counts arrivals of an id a device had already seen.
	Duplicates int64 `json:"duplicates"`
	// Extra counts distinct deliveries beyond the expected count, or of ids
	// nobody sent (for example a failed push the server delivered anyway).
	Extra int64 `json:"extra"`
	// Misrouted counts messages that reached a device they were not
	// addressed to.
	Misrouted int64 `json:"misrouted"`
	// Ratio is Delivered / Expected (1 when nothing was expected).
	Ratio float64 `json:"ratio"`
	// Complete is true when every expected delivery happened exactly once
	// and nothing else arrived.
	Complete bool `json:"complete"`
	// IncompleteIDs lists up to 20 ids that missed receivers, for debugging.
	IncompleteIDs []uint64 `json:"incomplete_ids,omitempty"`
}

// Reconcile compares what was sent with what the devices reported.
// duplicates and misrouted are the devices' own counts. reach, when not
// nil, receives for every fully delivered message the time from its push to
// its last arrival (the time to reach everyone).
func Reconcile(sent []Sent, got *Ledger, duplicates, misrouted int64, reach func(time.Duration)) Accounting {
	a := Accounting{Duplicates: duplicates, Misrouted: misrouted}
	known := make(map[uint64]bool, len(sent))
	for _, s := range sent {
		known[s.ID] = true
		a.Messages++
		a.Expected += s.Expected
		d := got.Get(s.ID)
		hit := min(d.Unique, s.Expected)
		a.Delivered += hit
		a.Extra += d.Unique - hit
		if hit < s.Expected && len(a.IncompleteIDs) < 20 {
			a.IncompleteIDs = append(a.IncompleteIDs, s.ID)
		}
		if hit == s.Expected && s.Expected > 0 && reach != nil {
			reach(time.Duration(d.Last - s.At))
		}
	}
	for _, id := range got.IDs() {
		if !known[id] {
			a.Extra += got.Get(id).Unique
		}
	}
	a.Missing = a.Expected - a.Delivered
	a.Ratio = 1
	if a.Expected > 0 {
		a.Ratio = float64(a.Delivered) / float64(a.Expected)
	}
	a.Complete = a.Missing == 0 && a.Duplicates == 0 && a.Extra == 0 && a.Misrouted == 0
	return a
}
