package payload

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		m    Message
		size int
		want int
	}{
		{"minimal", Message{ID: 1, Sent: 1700000000123456789, Dest: 7}, 0, MinSize},
		{"any device", Message{ID: 1 << 40, Sent: -5, Dest: AnyDevice}, MinSize, MinSize},
		{"padded", Message{ID: 99, Sent: 42, Dest: 3}, 128, 128},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := Append(nil, c.m, c.size)
			if len(b) != c.want {
				t.Fatalf("len = %d, want %d", len(b), c.want)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.m {
				t.Fatalf("decode = %+v, want %+v", got, c.m)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		foreign bool
	}{
		{"empty", nil, true},
		{"other body", []byte(`{"hello":1}`), true},
		{"magic only", []byte(Magic), false},
		{"truncated", Append(nil, Message{ID: 1}, 0)[:MinSize-1], false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.in)
			if err == nil {
				t.Fatal("decode succeeded")
			}
			if errors.Is(err, ErrForeign) != c.foreign {
				t.Fatalf("err = %v, foreign want %v", err, c.foreign)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, Message{ID: 5, Sent: 6, Dest: 7}, 40))
	f.Add([]byte("GEB1short"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Decode(in)
		if err != nil {
			return
		}
		if out := Append(nil, m, 0); !bytes.Equal(out, in[:MinSize]) {
			t.Fatalf("re-encode %x differs from %x", out, in[:MinSize])
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	body := Append(nil, Message{ID: 12345, Sent: 1, Dest: AnyDevice}, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
