package tally

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestSeen(t *testing.T) {
	var s Seen
	steps := []struct {
		id    uint64
		first bool
	}{{0, true}, {0, false}, {63, true}, {64, true}, {5000, true}, {64, false}, {5000, false}, {1, true}}
	for _, st := range steps {
		if got := s.Mark(st.id); got != st.first {
			t.Fatalf("Mark(%d) = %v, want %v", st.id, got, st.first)
		}
		if !s.Has(st.id) {
			t.Fatalf("Has(%d) false after Mark", st.id)
		}
	}
	if s.Has(2) || s.Has(1<<20) {
		t.Fatal("Has reports unmarked ids")
	}
	if s.Mark(1 << 40) {
		t.Fatal("absurd id accepted")
	}
}

func TestLedgerMergeAndJSON(t *testing.T) {
	a, b := NewLedger(), NewLedger()
	a.Add(1, 100)
	a.Add(1, 300)
	b.Add(1, 200)
	b.Add(7, 50)
	a.Merge(b)
	if d := a.Get(1); d != (Delivery{Unique: 3, Last: 300}) {
		t.Fatalf("id 1 = %+v", d)
	}
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"ids":[1,7],"unique":[3,1],"last":[300,50]}` {
		t.Fatalf("json = %s", raw)
	}
	back := NewLedger()
	if err := json.Unmarshal(raw, back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.m, a.m) {
		t.Fatalf("round trip %v, want %v", back.m, a.m)
	}
	for _, bad := range []string{
		`{"ids":[1,2],"unique":[1],"last":[1,2]}`,
		`{"ids":[1,1],"unique":[1,1],"last":[1,2]}`,
		`{"ids":[1],"unique":[-1],"last":[1]}`,
		`[]`,
	} {
		if err := json.Unmarshal([]byte(bad), NewLedger()); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestReconcile(t *testing.T) {
	ledger := func(adds ...[2]int64) *Ledger {
		l := NewLedger()
		for _, a := range adds {
			l.Add(uint64(a[0]), a[1])
		}
		return l
	}
	cases := []struct {
		name      string
		sent      []Sent
		got       *Ledger
		dups, mis int64
		want      Accounting
		wantReach []time.Duration
	}{
		{
			name:      "all delivered once",
			sent:      []Sent{{ID: 0, At: 100, Expected: 2}, {ID: 1, At: 200, Expected: 2}},
			got:       ledger([2]int64{0, 150}, [2]int64{0, 170}, [2]int64{1, 260}, [2]int64{1, 210}),
			want:      Accounting{Messages: 2, Expected: 4, Delivered: 4, Ratio: 1, Complete: true},
			wantReach: []time.Duration{70, 60},
		},
		{
			name:      "one missing, one duplicate reported by a device",
			sent:      []Sent{{ID: 0, At: 100, Expected: 2}, {ID: 1, At: 200, Expected: 2}},
			got:       ledger([2]int64{0, 150}, [2]int64{1, 210}, [2]int64{1, 220}),
			dups:      1,
			want:      Accounting{Messages: 2, Expected: 4, Delivered: 3, Missing: 1, Duplicates: 1, Ratio: 0.75, IncompleteIDs: []uint64{0}},
			wantReach: []time.Duration{20},
		},
		{
			name:      "extra receivers and an id never sent",
			sent:      []Sent{{ID: 0, At: 0, Expected: 1}},
			got:       ledger([2]int64{0, 5}, [2]int64{0, 6}, [2]int64{9, 1}),
			mis:       1,
			want:      Accounting{Messages: 1, Expected: 1, Delivered: 1, Extra: 2, Misrouted: 1, Ratio: 1},
			wantReach: []time.Duration{6},
		},
		{
			name: "nothing sent",
			got:  NewLedger(),
			want: Accounting{Ratio: 1, Complete: true},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var reach []time.Duration
			got := Reconcile(c.sent, c.got, c.dups, c.mis, func(d time.Duration) { reach = append(reach, d) })
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
			if !reflect.DeepEqual(reach, c.wantReach) {
				t.Fatalf("reach = %v, want %v", reach, c.wantReach)
			}
		})
	}
}

func FuzzLedgerJSON(f *testing.F) {
	f.Add([]byte(`{"ids":[1,7],"unique":[3,1],"last":[300,50]}`))
	f.Add([]byte(`{"ids":[1,1],"unique":[1,1],"last":[1,2]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		l := NewLedger()
		if err := json.Unmarshal(in, l); err != nil {
			return
		}
		out, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		back := NewLedger()
		if err := json.Unmarshal(out, back); err != nil || !reflect.DeepEqual(back.m, l.m) {
			t.Fatalf("re-decode %s: %v", out, err)
		}
	})
}
