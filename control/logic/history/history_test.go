package history

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStream(t *testing.T) {
	good := map[string]Name{
		"user:123":         {Mid: 123},
		"user:-5":          {Mid: -5},
		"room:live://1000": {Room: "live://1000", Type: "live"},
		"room:a://b://c":   {Room: "a://b://c", Type: "a"},
	}
	for s, want := range good {
		got, err := ParseStream(s)
		if err != nil || got != want {
			t.Errorf("ParseStream(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	bad := []string{"", "user:", "user:0", "user:01", "user:+1", "user:x", "room:", "room:live", "room:://1", "room:live://", "chan:1", "room:t://" + strings.Repeat("x", 300)}
	for _, s := range bad {
		if _, err := ParseStream(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseStream(%q) = %v, want ErrInvalid", s, err)
		}
	}
	if UserStream(7) != "user:7" || RoomStream("live://1") != "room:live://1" {
		t.Error("stream names")
	}
}

func FuzzParseStream(f *testing.F) {
	for _, s := range []string{"user:1", "room:live://1000", "user:0", "room:x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseStream(s)
		if err != nil {
			return
		}
		// Whatever parses names itself back.
		back := UserStream(n.Mid)
		if n.Room != "" {
			back = RoomStream(n.Room)
		}
		if back != s || (n.Room == "" && n.Mid == 0) {
			t.Fatalf("ParseStream(%q) = %+v, names %q", s, n, back)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Users = Limits{Size: 10, TTL: time.Minute}
	ok.Rooms = []RoomLimits{{Type: "live", Size: 100, TTL: 5 * time.Minute}, {Type: "chat"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if !ok.On() || ok.Room("live") != (Limits{Size: 100, TTL: 5 * time.Minute}) || ok.Room("chat").On() || ok.Room("other").On() {
		t.Errorf("limits of %+v", ok)
	}
	if DefaultConfig().On() || DefaultConfig().Validate() != nil {
		t.Error("the default must be valid and off")
	}
	for name, mod := range map[string]func(*Config){
		"negative size":      func(c *Config) { c.Users.Size = -1 },
		"too large":          func(c *Config) { c.Users = Limits{Size: MaxSize + 1, TTL: time.Minute} },
		"no ttl":             func(c *Config) { c.Users.Size = 1 },
		"room no type":       func(c *Config) { c.Rooms = []RoomLimits{{Size: 1, TTL: time.Second}} },
		"room twice":         func(c *Config) { c.Rooms = []RoomLimits{{Type: "a"}, {Type: "a"}} },
		"room no ttl":        func(c *Config) { c.Rooms = []RoomLimits{{Type: "a", Size: 1}} },
		"read limit 0":       func(c *Config) { c.ReadLimit = 0 },
		"read limit huge":    func(c *Config) { c.ReadLimit = MaxReadLimit + 1 },
		"recover limit 0":    func(c *Config) { c.RecoverLimit = 0 },
		"recover limit huge": func(c *Config) { c.RecoverLimit = MaxReadLimit + 1 },
		"recover bytes 0":    func(c *Config) { c.RecoverMaxBytes = 0 },
		"recover bytes huge": func(c *Config) { c.RecoverMaxBytes = MaxRecoverBytes + 1 },
	} {
		c := DefaultConfig()
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("%s: %+v is valid", name, c)
		}
	}
}

// TestResultOf is the recovery rule on its own, for Since (ResultOf) and
// Tail (TailOf).
func TestResultOf(t *testing.T) {
	kept := func(from, to int64) []Message {
		var out []Message
		for o := from; o <= to; o++ {
			out = append(out, Message{Offset: o})
		}
		return out
	}
	cur := Pos{Stream: "user:1", Epoch: "e", Offset: 10}
	cases := []struct {
		name      string
		tail      bool
		kept      []Message
		epoch     string
		offset    int64
		limit     int
		recovered bool
		cut       bool
		offsets   []int64
	}{
		{"all kept from start", false, kept(1, 10), "", 0, 3, true, false, []int64{1, 2, 3}},
		{"after 8", false, kept(1, 10), "e", 8, 5, true, false, []int64{9, 10}},
		{"up to date", false, kept(1, 10), "e", 10, 5, true, false, nil},
		{"gap just fits", false, kept(6, 10), "e", 5, 5, true, false, []int64{6, 7, 8, 9, 10}},
		{"gap too large", false, kept(6, 10), "e", 4, 2, false, false, []int64{9, 10}},
		{"from start, lost the head", false, kept(6, 10), "", 0, 5, false, false, []int64{6, 7, 8, 9, 10}},
		{"other epoch", false, kept(1, 10), "old", 10, 2, false, false, []int64{9, 10}},
		{"future offset", false, kept(1, 10), "e", 11, 2, false, false, []int64{9, 10}},
		{"nothing kept, up to date", false, nil, "e", 10, 2, true, false, nil},
		{"nothing kept, behind", false, nil, "e", 9, 2, false, false, nil},
		{"tail: from start, over the limit", true, kept(1, 10), "", 0, 3, true, true, []int64{8, 9, 10}},
		{"tail: after 2, over the limit", true, kept(1, 10), "e", 2, 4, true, true, []int64{7, 8, 9, 10}},
		{"tail: within the limit", true, kept(1, 10), "e", 7, 3, true, false, []int64{8, 9, 10}},
		{"tail: up to date", true, kept(1, 10), "e", 10, 3, true, false, nil},
		{"tail: gap too large", true, kept(6, 10), "e", 4, 2, false, false, []int64{9, 10}},
		{"tail: other epoch", true, kept(1, 10), "old", 3, 2, false, false, []int64{9, 10}},
	}
	for _, c := range cases {
		var r Range
		if c.tail {
			first := cur.Offset + 1
			if len(c.kept) > 0 {
				first = c.kept[0].Offset
			}
			r = TailOf(c.kept, first, cur, c.epoch, c.offset, c.limit)
		} else {
			r = ResultOf(c.kept, cur, c.epoch, c.offset, c.limit)
		}
		var got []int64
		for _, m := range r.Messages {
			got = append(got, m.Offset)
		}
		if r.Recovered != c.recovered || r.Cut != c.cut || !slices.Equal(got, c.offsets) || r.Pos != cur {
			t.Errorf("%s: recovered %v cut %v offsets %v, want %v %v %v", c.name, r.Recovered, r.Cut, got, c.recovered, c.cut, c.offsets)
		}
	}
	// A store that sends only the newest part (Redis) states the first
	// kept offset: the rule then still sees nothing was lost.
	r := TailOf(kept(8, 10), 1, cur, "e", 2, 3)
	if !r.Recovered || !r.Cut || len(r.Messages) != 3 {
		t.Errorf("TailOf the newest part = %+v, want recovered and cut", r)
	}
}

func TestNewEpoch(t *testing.T) {
	a, b := NewEpoch(), NewEpoch()
	if len(a) != 16 || a == b {
		t.Fatalf("epochs %q %q: want 16 hex digits, distinct", a, b)
	}
}
