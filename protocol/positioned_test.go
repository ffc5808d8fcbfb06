package protocol

import (
	"bytes"
	"errors"
	"testing"
)

func TestPositionedRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name, stream, epoch string
		offset              int64
		op                  int32
		body                []byte
	}{
		{"user", "user:123", "9f3c1a0b2c3d4e5f", 42, 1000, []byte(`{"hello":1}`)},
		{"room empty body", "room:live://1000", "00", 1, 1001, nil},
		{"no epoch", "user:1", "", 0, 1000, []byte("x")},
		{"longest stream", RoomStreamPrefix + string(bytes.Repeat([]byte("r"), MaxRoomID)), "e", 1 << 40, 2000, []byte("b")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			frame := AppendPositioned(nil, tt.stream, tt.epoch, tt.offset, tt.op, tt.body)
			if len(frame) != PositionedLen(tt.stream, tt.epoch, tt.body) {
				t.Fatalf("frame is %d bytes, PositionedLen says %d", len(frame), PositionedLen(tt.stream, tt.epoch, tt.body))
			}
			f, err := DecodeMessage(frame, len(frame))
			if err != nil || f.Op != OpPositioned || f.Ver != PushVer || f.Seq != 0 {
				t.Fatalf("outer frame %+v, %v", f, err)
			}
			p, err := ParsePositioned(f.Body)
			if err != nil {
				t.Fatal(err)
			}
			if p.Op != tt.op || p.Offset != tt.offset || p.Stream != tt.stream || p.Epoch != tt.epoch || !bytes.Equal(p.Body, tt.body) {
				t.Fatalf("parsed %+v", p)
			}
		})
	}
}

func TestPositionedBatch(t *testing.T) {
	b := NewBatch(64)
	b.AddPositioned("room:live://1", "e1", 7, 1000, []byte("a"))
	b.Add(1000, []byte("plain"))
	var got []Frame
	if err := SplitRaw(b.Frames(), func(f Frame) error { got = append(got, f); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Op != OpPositioned || got[1].Op != 1000 || b.Len() != 2 {
		t.Fatalf("batch frames %+v", got)
	}
	p, err := ParsePositioned(got[0].Body)
	if err != nil || p.Offset != 7 || string(p.Body) != "a" {
		t.Fatalf("first frame %+v, %v", p, err)
	}
}

func TestParsePositionedRefuses(t *testing.T) {
	good := AppendPositioned(nil, "user:1", "ep", 3, 1000, []byte("x"))[HeaderLen:]
	negative := append([]byte(nil), good...)
	negative[4] = 0x80
	longStream := append([]byte(nil), good...)
	longStream[12], longStream[13] = 0xff, 0xff
	for name, body := range map[string][]byte{
		"empty":           nil,
		"short":           good[:10],
		"negative offset": negative,
		"stream too long": longStream,
		"cut in stream":   good[:16],
		"cut in epoch":    good[:12+2+6+2+1],
	} {
		if _, err := ParsePositioned(body); !errors.Is(err, ErrPositioned) {
			t.Errorf("%s: err %v, want ErrPositioned", name, err)
		}
	}
}

// FuzzParsePositioned: any body either fails with ErrPositioned or parses
// into fields that encode back to the same bytes.
func FuzzParsePositioned(f *testing.F) {
	f.Add(AppendPositioned(nil, "user:1", "ep", 3, 1000, []byte("x"))[HeaderLen:])
	f.Add(AppendPositioned(nil, "room:live://1000", "", 0, 1001, nil)[HeaderLen:])
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParsePositioned(body)
		if err != nil {
			if !errors.Is(err, ErrPositioned) {
				t.Fatalf("error %v is not ErrPositioned", err)
			}
			return
		}
		again := AppendPositioned(nil, p.Stream, p.Epoch, p.Offset, p.Op, p.Body)[HeaderLen:]
		if !bytes.Equal(again, body) {
			t.Fatalf("re-encoded %x, parsed from %x", again, body)
		}
	})
}

func BenchmarkAppendPositioned(b *testing.B) {
	body := bytes.Repeat([]byte("j"), 200)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPositioned(buf[:0], "room:live://1000", "9f3c1a0b2c3d4e5f", 123456, 1000, body)
	}
}
