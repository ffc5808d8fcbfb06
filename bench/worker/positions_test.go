package worker

import (
	"reflect"
	"testing"

	"github.com/goim-edge/goim-edge/protocol"
)

// TestPositionsFollowFramesAndVerdicts drives one positioned device's
// state as its reader would: op-28 positions, then a reconnect judged by
// its room verdict.
func TestPositionsFollowFramesAndVerdicts(t *testing.T) {
	f := newFleet(Spec{Resume: true, MidBase: 100, Rooms: []string{"test://1"}}, &emitter{})
	d := &dev{f: f, idx: 7, pos: &positions{}}

	first := d.pos.request("test://1", 107)
	want := &protocol.ResumeRequest{Streams: []protocol.StreamPos{{Stream: "room:test://1"}, {Stream: "user:107"}}}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("first request %+v", first)
	}
	d.ResumeReply([]byte(`{"streams":[{"stream":"room:test://1","epoch":"e1","offset":0,"recovered":true},{"stream":"user:107","recovered":false,"reason":"no_history"}]}`))
	d.Position([]byte("room:test://1"), []byte("e1"), 1)
	d.Position([]byte("room:test://1"), []byte("e1"), 2)
	d.Position([]byte("user:107"), []byte("u9"), 5)
	again := d.pos.request("test://1", 107)
	want = &protocol.ResumeRequest{Streams: []protocol.StreamPos{{Stream: "room:test://1", Epoch: "e1", Offset: 2}, {Stream: "user:107", Epoch: "u9", Offset: 5}}}
	if !reflect.DeepEqual(again, want) {
		t.Fatalf("request after frames %+v", again)
	}

	// A reconnect expecting 3 messages: the verdict says 3 recovered.
	f.resume.expect.Store(3)
	f.resume.reconnecting(d.pos, 1)
	d.ResumeReply([]byte(`{"streams":[{"stream":"room:test://1","epoch":"e1","offset":5,"recovered":true,"count":3}]}`))
	// A second verdict for the room (op 26 after auth) is tallied but
	// does not judge the reconnect again.
	d.ResumeReply([]byte(`{"streams":[{"stream":"room:test://1","epoch":"e1","offset":5,"recovered":true}]}`))

	// Another device whose verdict came short, one that never got one.
	short := &dev{f: f, idx: 8, pos: &positions{}}
	f.resume.reconnecting(short.pos, 2)
	short.ResumeReply([]byte(`{"streams":[{"stream":"room:test://1","epoch":"e1","offset":4,"recovered":true,"count":2}]}`))
	silent := &dev{f: f, idx: 9, pos: &positions{}}
	f.resume.reconnecting(silent.pos, 3)

	r := f.resume.result([]*dev{d, short, silent})
	if r.Reconnected != 3 || r.Complete != 1 || r.Latency.Count() != 1 || r.Start != 1 || r.LastComplete == 0 || r.Positioned != 3 || r.Messages != 5 {
		t.Fatalf("result %+v", r)
	}
	if !reflect.DeepEqual(r.NotRecovered, map[string]int{"short": 1, "no verdict": 1}) {
		t.Fatalf("not recovered %v", r.NotRecovered)
	}
	if !reflect.DeepEqual(r.Verdicts, map[string]int{"room recovered": 4, "user no_history": 1}) {
		t.Fatalf("verdicts %v", r.Verdicts)
	}
	if got := d.pos.room; got != (streamMark{epoch: "e1", offset: 5}) {
		t.Fatalf("room position %+v", got)
	}
}
