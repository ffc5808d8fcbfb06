package queue

import (
	"bytes"
	"errors"
	"testing"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

func TestCodecRoundTrip(t *testing.T) {
	cases := []*common.PushMsg{
		{Id: "1", Kind: common.PushKind_KEYS, Op: 1000, Server: "edge-1", Keys: []string{"a", "b"}, Body: []byte("hi"), EnqueuedUnixNano: 42},
		{Id: "2", Kind: common.PushKind_ROOM, Op: 1001, Room: "live://1000", Body: []byte{}},
		{Id: "3", Kind: common.PushKind_BROADCAST, Op: 1002, Speed: 100, Body: []byte("all")},
		{Id: "4", Kind: common.PushKind_ROOM, Op: 1000, Room: "live://1", Body: []byte("p"),
			Positions: []*common.StreamPos{{Stream: "room:live://1", Epoch: "9f3c", Offset: 7}}},
	}
	for _, want := range cases {
		got, err := Decode(Encode(want))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(Encode(got), Encode(want)) || got.String() != want.String() {
			t.Fatalf("round trip = %+v, want %+v", got, want)
		}
	}
}

func TestDecodeGarbageIsPoison(t *testing.T) {
	for _, in := range [][]byte{{0xff}, {0x0b, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff}} {
		if _, err := Decode(in); !errors.Is(err, ErrPoison) {
			t.Fatalf("Decode(%x) err = %v, want ErrPoison", in, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(&common.PushMsg{Id: "1", Kind: common.PushKind_KEYS, Keys: []string{"k"}, Body: []byte("b")}))
	f.Fuzz(func(t *testing.T, in []byte) {
		msg, err := Decode(in)
		if err != nil {
			return
		}
		again, err := Decode(Encode(msg))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !bytes.Equal(Encode(again), Encode(msg)) || again.String() != msg.String() {
			t.Fatalf("round trip changed the message: %+v, then %+v", msg, again)
		}
	})
}
