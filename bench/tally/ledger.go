package tally

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Delivery is what the receivers saw of one message id.
type Delivery struct {
	// Unique is how many distinct devices received the id.
	Unique int64
	// Last is the arrival time (unix nanos) at the last of them.
	Last int64
}

// Ledger maps message ids to deliveries. Workers fill one per recorder
// shard, merge them, and send the result to the parent, which merges the
// workers'. Not safe for concurrent use.
type Ledger struct {
	m map[uint64]Delivery
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{m: map[uint64]Delivery{}} }

// Add records one first-time arrival of id at a device.
func (l *Ledger) Add(id uint64, at int64) {
	d := l.m[id]
	d.Unique++
	d.Last = max(d.Last, at)
	l.m[id] = d
}

// Merge adds o's deliveries into l.
func (l *Ledger) Merge(o *Ledger) {
	for id, d := range o.m {
		cur := l.m[id]
		cur.Unique += d.Unique
		cur.Last = max(cur.Last, d.Last)
		l.m[id] = cur
	}
}

// Get returns the delivery of id (zero when nobody got it).
func (l *Ledger) Get(id uint64) Delivery { return l.m[id] }

// Len is the number of distinct ids received.
func (l *Ledger) Len() int { return len(l.m) }

// IDs lists the received ids in order.
func (l *Ledger) IDs() []uint64 {
	ids := make([]uint64, 0, len(l.m))
	for id := range l.m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// wireLedger is the JSON form: parallel arrays, sorted by id, much smaller
// than an object keyed by id.
type wireLedger struct {
	IDs    []uint64 `json:"ids"`
	Unique []int64  `json:"unique"`
	Last   []int64  `json:"last"`
}

// MarshalJSON writes the parallel-array form.
func (l *Ledger) MarshalJSON() ([]byte, error) {
	w := wireLedger{IDs: l.IDs()}
	w.Unique = make([]int64, len(w.IDs))
	w.Last = make([]int64, len(w.IDs))
	for i, id := range w.IDs {
		d := l.m[id]
		w.Unique[i], w.Last[i] = d.Unique, d.Last
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the parallel-array form, refusing arrays of unequal
// length or repeated ids (they would double-count).
func (l *Ledger) UnmarshalJSON(b []byte) error {
	var w wireLedger
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("tally: ledger: %w", err)
	}
	if len(w.Unique) != len(w.IDs) || len(w.Last) != len(w.IDs) {
		return fmt.Errorf("tally: ledger: %d ids, %d counts, %d times", len(w.IDs), len(w.Unique), len(w.Last))
	}
	l.m = make(map[uint64]Delivery, len(w.IDs))
	for i, id := range w.IDs {
		if _, dup := l.m[id]; dup {
			return fmt.Errorf("tally: ledger: id %d listed twice", id)
		}
		if w.Unique[i] < 0 {
			return fmt.Errorf("tally: ledger: id %d has negative count %d", id, w.Unique[i])
		}
		l.m[id] = Delivery{Unique: w.Unique[i], Last: w.Last[i]}
	}
	return nil
}
