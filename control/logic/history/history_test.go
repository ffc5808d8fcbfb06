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
		"negative size":   func(c *Config) { c.Users.Size = -1 },
		"too large":       func(c *Config) { c.Users = Limits{Size: MaxSize + 1, TTL: time.Minute} },
		"no ttl":          func(c *Config) { c.Users.Size = 1 },
		"room no type":    func(c *Config) { c.Rooms = []RoomLimits{{Size: 1, TTL: time.Second}} },
		"room twice":      func(c *Config) { c.Rooms = []RoomLimits{{Type: "a"}, {Type: "a"}} },
		"room no ttl":     func(c *Config) { c.Rooms = []RoomLimits{{Type: "a", Size: 1}} },
		"read limit 0":    func(c *Config) { c.ReadLimit = 0 },
		"read limit huge": func(c *Config) { c.ReadLimit = MaxReadLimit + 1 },
	} {
		c := DefaultConfig()
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("%s: %+v is valid", name, c)
		}
	}
}

// TestResultOf is the recovery rule on its own.
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
		kept      []Message
		epoch     string
		offset    int64
		limit     int
		recovered bool
		offsets   []int64
	}{
		{"all kept from start", kept(1, 10), "", 0, 3, true, []int64{1, 2, 3}},
		{"after 8", kept(1, 10), "e", 8, 5, true, []int64{9, 10}},
		{"up to date", kept(1, 10), "e", 10, 5, true, nil},
		{"gap just fits", kept(6, 10), "e", 5, 5, true, []int64{6, 7, 8, 9, 10}},
		{"gap too large", kept(6, 10), "e", 4, 2, false, []int64{9, 10}},
		{"from start, lost the head", kept(6, 10), "", 0, 5, false, []int64{6, 7, 8, 9, 10}},
		{"other epoch", kept(1, 10), "old", 10, 2, false, []int64{9, 10}},
		{"future offset", kept(1, 10), "e", 11, 2, false, []int64{9, 10}},
		{"nothing kept, up to date", nil, "e", 10, 2, true, nil},
		{"nothing kept, behind", nil, "e", 9, 2, false, nil},
	}
	for _, c := range cases {
		r := ResultOf(c.kept, cur, c.epoch, c.offset, c.limit)
		var got []int64
		for _, m := range r.Messages {
			got = append(got, m.Offset)
		}
		if r.Recovered != c.recovered || !slices.Equal(got, c.offsets) || r.Pos != cur {
			t.Errorf("%s: recovered %v offsets %v, want %v %v", c.name, r.Recovered, got, c.recovered, c.offsets)
		}
	}
}

func TestNewEpoch(t *testing.T) {
	a, b := NewEpoch(), NewEpoch()
	if len(a) != 16 || a == b {
		t.Fatalf("epochs %q %q: want 16 hex digits, distinct", a, b)
	}
}
