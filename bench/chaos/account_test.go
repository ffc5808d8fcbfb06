package chaos

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAccount checks the counting rules on hand-made sessions and
// deliveries, without a cluster.
func TestAccount(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const grace = time.Second

	cases := []struct {
		name     string
		sessions [][]session      // per device
		pushes   []*Push          // Sent/Answered in ms via at()
		got      map[int][]uint64 // device -> ids received (repeat = duplicate)
		wantPass bool
		want     Result
		bad      []int
	}{
		{
			name:     "delivered to a device connected throughout",
			sessions: [][]session{{{start: at(0)}}, {{start: at(0)}}},
			pushes:   []*Push{{ID: 1, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110)}},
			got:      map[int][]uint64{0: {1}},
			wantPass: true,
			want:     Result{Sent: 1, Accepted: 1, Expected: 1, Delivered: 1},
		},
		{
			name:     "lost to a device connected throughout",
			sessions: [][]session{{{start: at(0)}}, {{start: at(0)}}},
			pushes:   []*Push{{ID: 1, Kind: "keys", Target: 1, Sent: at(100), Answered: at(110)}},
			want:     Result{Sent: 1, Accepted: 1, Expected: 1, Lost: 1},
		},
		{
			name:     "device gone within grace is outside the promise",
			sessions: [][]session{{{start: at(0), end: at(600)}}, {{start: at(0)}}},
			pushes:   []*Push{{ID: 1, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110)}},
			want:     Result{Sent: 1, Accepted: 1, Outside: 1},
		},
		{
			name:     "device gone after grace is inside the promise",
			sessions: [][]session{{{start: at(0), end: at(1200)}}, {{start: at(0)}}},
			pushes:   []*Push{{ID: 1, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110)}},
			want:     Result{Sent: 1, Accepted: 1, Expected: 1, Lost: 1},
		},
		{
			name:     "device that connected after the push is outside",
			sessions: [][]session{{{start: at(200)}}, {{start: at(0)}}},
			pushes:   []*Push{{ID: 1, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110)}},
			want:     Result{Sent: 1, Accepted: 1, Outside: 1},
		},
		{
			name:     "duplicate by key fails, room duplicate is only reported",
			sessions: [][]session{{{start: at(0)}}, {{start: at(0)}}},
			pushes: []*Push{
				{ID: 1, Kind: "keys", Target: 0, Sent: at(100), Answered: at(110)},
				{ID: 2, Kind: "room", Room: "live://chaos0", Sent: at(100), Answered: at(110)},
			},
			got:  map[int][]uint64{0: {1, 1, 2, 2}, 1: {2}},
			want: Result{Sent: 2, Accepted: 2, Expected: 3, Delivered: 3, Duplicated: 1, RoomDuplicated: 1},
		},
		{
			name:     "refused and failed pushes promise nothing",
			sessions: [][]session{{{start: at(0)}}, {{start: at(0)}}},
			pushes: []*Push{
				{ID: 1, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110)},
				{ID: 2, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110), Code: -400},
				{ID: 3, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110), Err: "connection refused"},
			},
			got:      map[int][]uint64{0: {1}},
			wantPass: true,
			want:     Result{Sent: 3, Accepted: 1, Refused: 1, Errors: 1, Expected: 1, Delivered: 1},
		},
		{
			name:     "bad push answered 0 fails",
			sessions: [][]session{{{start: at(0)}}, {{start: at(0)}}},
			pushes:   []*Push{{ID: 1, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110)}},
			got:      map[int][]uint64{0: {1}},
			bad:      []int{0},
			want:     Result{Sent: 1, Accepted: 1, Expected: 1, Delivered: 1},
		},
		{
			name:     "bad push answered -400 passes",
			sessions: [][]session{{{start: at(0)}}, {{start: at(0)}}},
			pushes:   []*Push{{ID: 1, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110)}},
			got:      map[int][]uint64{0: {1}},
			bad:      []int{-400, -400},
			wantPass: true,
			want:     Result{Sent: 1, Accepted: 1, Expected: 1, Delivered: 1},
		},
		{
			name:     "nothing accepted proves nothing",
			sessions: [][]session{{{start: at(0)}}, {{start: at(0)}}},
			pushes:   []*Push{{ID: 1, Kind: "mids", Target: 0, Sent: at(100), Answered: at(110), Err: "timeout"}},
			want:     Result{Sent: 1, Errors: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFleet([2]string{}, 2, 1)
			for i, d := range f.Devices {
				d.sessions = tc.sessions[i]
				for _, id := range tc.got[i] {
					d.got[id] = append(d.got[id], at(120))
				}
			}
			r := Result{BadCodes: tc.bad}
			account(&r, f, tc.pushes, 0, t0, grace)
			judge(&r, tc.bad != nil)
			got := Result{Sent: r.Sent, Accepted: r.Accepted, Refused: r.Refused, Errors: r.Errors, Expected: r.Expected,
				Delivered: r.Delivered, Lost: r.Lost, Duplicated: r.Duplicated, RoomDuplicated: r.RoomDuplicated, Outside: r.Outside}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("counts %+v, want %+v", got, tc.want)
			}
			if r.Pass != tc.wantPass {
				t.Errorf("pass = %v (%v), want %v", r.Pass, r.Failures, tc.wantPass)
			}
		})
	}
}

// FuzzParseID: any body parses without panicking, and what parses as an
// id carries the prefix and round-trips.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"chaos:1", "chaos:", "chaos:bad", "x", "chaos:18446744073709551615"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := parseID(b)
		if !ok {
			return
		}
		if !strings.HasPrefix(string(b), bodyPrefix) {
			t.Fatalf("parseID(%q) accepted a body without the prefix", b)
		}
		back, ok := parseID([]byte(bodyPrefix + strconv.FormatUint(id, 10)))
		if !ok || back != id {
			t.Fatalf("id %d does not round-trip", id)
		}
	})
}
