package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The byte examples are goim's, from shared/goim-compat.md.
func TestEncodeMatchesGoim(t *testing.T) {
	cases := []struct {
		name  string
		frame Frame
		want  string
	}{
		{"auth reply seq 7", Frame{Ver: 1, Op: OpAuthReply, Seq: 7}, "00000010 0010 0001 00000008 00000007"},
		{"heartbeat reply seq 42 count 1", Frame{Ver: 1, Op: OpHeartbeatReply, Seq: 42, Body: []byte{0, 0, 0, 1}}, "00000014 0010 0001 00000003 0000002a 00000001"},
		{"change room reply seq 45", Frame{Ver: 1, Op: OpChangeRoomReply, Seq: 45, Body: []byte("live://2000")}, "0000001b 0010 0001 0000000d 0000002d" + hex.EncodeToString([]byte("live://2000"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.frame.Encode()
			if want := unhex(t, c.want); !bytes.Equal(got, want) {
				t.Fatalf("encode = %x, want %x", got, want)
			}
			back, err := DecodeMessage(got, MaxPackSize)
			if err != nil {
				t.Fatal(err)
			}
			if back.Op != c.frame.Op || back.Seq != c.frame.Seq || back.Ver != c.frame.Ver || !bytes.Equal(back.Body, c.frame.Body) {
				t.Fatalf("round trip = %+v, want %+v", back, c.frame)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrShort},
		{"half header", "00000010 0010", ErrShort},
		{"header len 12", "00000010 000c 0001 00000002 00000001", ErrHeaderLen},
		{"pack len below header", "0000000f 0010 0001 00000002 00000001", ErrPackLen},
		{"negative pack len", "ffffffff 0010 0001 00000002 00000001", ErrPackLen},
		{"over limit", "00001011 0010 0001 00000002 00000001", ErrPackLen},
		{"body missing", "00000014 0010 0001 00000002 00000001 0000", ErrShort},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decode(unhex(t, c.in), MaxPackSize)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestDecodeMessageRefusesLyingLength(t *testing.T) {
	// Claims 4 body bytes but carries 2: goim's WebSocket path pads from a
	// stale buffer; we refuse.
	short := unhex(t, "00000014 0010 0001 0000000c 00000001 6869")
	if _, err := DecodeMessage(short, MaxPackSize); !errors.Is(err, ErrShort) {
		t.Fatalf("short: err = %v, want ErrShort", err)
	}
	// Claims no body but carries 2 bytes.
	long := unhex(t, "00000010 0010 0001 0000000c 00000001 6869")
	if _, err := DecodeMessage(long, MaxPackSize); !errors.Is(err, ErrTrailing) {
		t.Fatalf("long: err = %v, want ErrTrailing", err)
	}
}

func TestBatchTCPAndWebSocketForms(t *testing.T) {
	b := NewBatch(64)
	b.Add(1000, []byte("r1"))
	b.Add(1000, []byte("r2"))
	inner := "00000012 0010 0001 000003e8 00000000 7231 00000012 0010 0001 000003e8 00000000 7232"
	if got, want := b.Frames(), unhex(t, inner); !bytes.Equal(got, want) {
		t.Fatalf("frames = %x, want %x", got, want)
	}
	if got, want := b.Raw(), unhex(t, "00000034 0010 0001 00000009 00000000"+inner); !bytes.Equal(got, want) {
		t.Fatalf("raw = %x, want %x", got, want)
	}
	var bodies []string
	if err := SplitRaw(b.Frames(), func(f Frame) error { bodies = append(bodies, string(f.Body)); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(bodies, ",") != "r1,r2" || b.Len() != 2 {
		t.Fatalf("split = %v (len %d)", bodies, b.Len())
	}
	b.Reset()
	if b.Len() != 0 || len(b.Frames()) != 0 {
		t.Fatal("reset left frames")
	}
}

func TestReadFrame(t *testing.T) {
	var stream []byte
	stream = AppendFrame(stream, 1, OpAuth, 1, []byte(`{"mid":1}`))
	stream = AppendFrame(stream, 1, OpHeartbeat, 2, nil)
	r := bytes.NewReader(stream)
	var buf []byte
	f, buf, err := ReadFrame(r, buf, MaxPackSize)
	if err != nil || f.Op != OpAuth || string(f.Body) != `{"mid":1}` {
		t.Fatalf("first = %+v, %v", f, err)
	}
	f, _, err = ReadFrame(r, buf, MaxPackSize)
	if err != nil || f.Op != OpHeartbeat || f.Seq != 2 || len(f.Body) != 0 {
		t.Fatalf("second = %+v, %v", f, err)
	}
	if _, _, err = ReadFrame(r, buf, MaxPackSize); err == nil {
		t.Fatal("read past end succeeded")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(AppendFrame(nil, 1, OpAuth, 7, []byte(`{"mid":1}`)))
	f.Add(AppendFrame(nil, 1, OpHeartbeat, 1, nil))
	f.Add([]byte{0, 0, 0, 0x14, 0, 0x10, 0, 1, 0, 0, 0, 0xc, 0, 0, 0, 1, 'h', 'i'})
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, n, err := Decode(in, MaxPackSize)
		if err != nil {
			return
		}
		if n > len(in) || n < HeaderLen || n != fr.Size() {
			t.Fatalf("used %d of %d bytes for frame of size %d", n, len(in), fr.Size())
		}
		if !bytes.Equal(fr.Encode(), in[:n]) {
			t.Fatalf("re-encode differs")
		}
		if _, err := DecodeMessage(in, MaxPackSize); (err == nil) != (n == len(in)) {
			t.Fatalf("DecodeMessage disagrees with Decode: n=%d len=%d err=%v", n, len(in), err)
		}
	})
}

// FuzzSplitRaw: the frames SplitRaw hands out re-encode to exactly the
// bytes they came from, in order; it fails only where those end short of
// the input, and never reads past it.
func FuzzSplitRaw(f *testing.F) {
	b := NewBatch(0)
	b.Add(1000, []byte("a"))
	b.Add(1001, []byte("bc"))
	f.Add(b.Frames())
	f.Add(append(b.Frames(), 0, 0))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out []byte
		err := SplitRaw(in, func(fr Frame) error {
			out = fr.AppendTo(out)
			if len(out) > len(in) {
				t.Fatalf("frames cover %d bytes of %d", len(out), len(in))
			}
			return nil
		})
		if !bytes.Equal(out, in[:len(out)]) {
			t.Fatalf("frames re-encode to %x, from %x", out, in[:len(out)])
		}
		if (err == nil) != (len(out) == len(in)) {
			t.Fatalf("err %v after %d of %d bytes", err, len(out), len(in))
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	in := AppendFrame(nil, 1, 1000, 0, bytes.Repeat([]byte("x"), 128))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, err := Decode(in, MaxPackSize); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 128)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(HeaderLen + len(body)))
	for b.Loop() {
		buf = AppendFrame(buf[:0], 1, 1000, 0, body)
	}
}

func BenchmarkBatch(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 128)
	batch := NewBatch(16 * 256)
	b.ReportAllocs()
	for b.Loop() {
		batch.Reset()
		for range 16 {
			batch.Add(1000, body)
		}
		_ = batch.Raw()
	}
}
