package job

import (
	"sync/atomic"
	"time"
)

// roomsView is an edge's last Rooms report, for room targeting by members.
type roomsView struct {
	p atomic.Pointer[roomsReport]
}

type roomsReport struct {
	at    time.Time
	rooms map[string]int32
}

func (v *roomsView) set(rooms map[string]int32) {
	v.p.Store(&roomsReport{at: time.Now(), rooms: rooms})
}

// mayHold reports whether the edge may have members of room: it listed
// some in a report younger than stale, or its report is missing or stale
// (then job cannot tell, and sends rather than risk a miss).
func (v *roomsView) mayHold(room string, stale time.Duration) bool {
	r := v.p.Load()
	if r == nil || time.Since(r.at) > stale {
		return true
	}
	return r.rooms[room] > 0
}
