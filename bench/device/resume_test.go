package device

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// posRecorder is a recorder that also implements Recovery.
type posRecorder struct {
	*recorder
	pmu       sync.Mutex
	positions []string
	verdicts  []string
}

func (r *posRecorder) Position(stream, epoch []byte, offset int64) {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	r.positions = append(r.positions, fmt.Sprintf("%s@%s/%d", stream, epoch, offset))
}

func (r *posRecorder) ResumeReply(body []byte) {
	r.pmu.Lock()
	r.verdicts = append(r.verdicts, string(body))
	r.pmu.Unlock()
	r.recorder.Push(protocol.OpResumeReply, []byte("verdict"))
}

// TestPositionedDevice checks a device with Options.Resume over real TCP:
// op 26 goes out right before op 7, op-28 frames (alone and batched, the
// batch wrapped or not) reach Push as the push they carry with their
// position first, and the op-27 verdict reaches ResumeReply.
func TestPositionedDevice(t *testing.T) {
	for _, engine := range enginesFor(TCP) {
		t.Run(engine, func(t *testing.T) { testPositionedDevice(t, engine) })
	}
}

func testPositionedDevice(t *testing.T, engine string) {
	req := &protocol.ResumeRequest{Streams: []protocol.StreamPos{{Stream: "room:test://1", Epoch: "ab", Offset: 7}, {Stream: "user:42"}}}
	verdict := `{"streams":[{"stream":"room:test://1","epoch":"ab","offset":9,"recovered":true,"count":2}]}`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		f, _, err := protocol.ReadFrame(r, nil, protocol.MaxPackSize)
		var got protocol.ResumeRequest
		if err != nil || f.Op != protocol.OpResume || json.Unmarshal(f.Body, &got) != nil || !reflect.DeepEqual(&got, req) {
			t.Errorf("first frame %+v %s, %v; want op 26 with %+v", f, f.Body, err, req)
			return
		}
		seq := f.Seq
		if f, _, err = protocol.ReadFrame(r, nil, protocol.MaxPackSize); err != nil || f.Op != protocol.OpAuth {
			t.Errorf("second frame %+v, %v; want auth", f, err)
			return
		}
		out := protocol.AppendFrame(nil, f.Ver, protocol.OpAuthReply, f.Seq, nil)
		b := protocol.NewBatch(256)
		b.AddPositioned("room:test://1", "ab", 8, 1000, []byte("r8"))
		b.AddPositioned("room:test://1", "ab", 9, 1000, []byte("r9"))
		out = append(out, b.Raw()...)
		out = protocol.AppendFrame(out, 1, protocol.OpResumeReply, seq, []byte(verdict))
		out = protocol.AppendPositioned(out, "room:test://1", "ab", 10, 1000, []byte("live10"))
		b = protocol.NewBatch(256)
		b.AddPositioned("user:42", "cd", 1, 1001, []byte("u1"))
		b.Add(1000, []byte("plain"))
		out = append(out, b.Frames()...)
		c.Write(out)
		// Until the device closes: closing first would race its Serve to
		// the end of the stream.
		_, _ = io.Copy(io.Discard, r)
	}()
	conn, err := Connect(context.Background(), Options{Transport: TCP, Addr: ln.Addr().String(), Timeout: 5 * time.Second, Resume: req, Engine: engine}, Token{Mid: 42})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rec := &posRecorder{recorder: newRecorder(6)}
	served := make(chan error, 1)
	go func() { served <- conn.Serve(rec) }()
	select {
	case <-rec.done:
	case err := <-served:
		t.Fatalf("serve ended early: %v (got %v)", err, rec.pushes)
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out; got %v", rec.pushes)
	}
	conn.Close()
	<-served
	wantPushes := []string{"r8", "r9", "verdict", "live10", "u1", "plain"}
	wantPos := []string{"room:test://1@ab/8", "room:test://1@ab/9", "room:test://1@ab/10", "user:42@cd/1"}
	if !reflect.DeepEqual(rec.pushes, wantPushes) || !reflect.DeepEqual(rec.positions, wantPos) || !reflect.DeepEqual(rec.verdicts, []string{verdict}) {
		t.Fatalf("pushes %v positions %v verdicts %v", rec.pushes, rec.positions, rec.verdicts)
	}
}

// TestPlainHandlerUnwrapsPositioned: a Handler without Recovery still gets
// the push inside an op-28 frame, so latency and exactly-once accounting
// work whatever form the server sends.
func TestPlainHandlerUnwrapsPositioned(t *testing.T) {
	rec := newRecorder(1)
	f := protocol.AppendPositioned(nil, "room:test://1", "ab", 3, 1000, []byte("x"))
	fr, err := protocol.DecodeMessage(f, protocol.MaxPackSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := dispatch(fr, rec, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.pushes, []string{"x"}) {
		t.Fatalf("pushes %v", rec.pushes)
	}
}

func TestSplitPositionedRefusesShortBodies(t *testing.T) {
	whole := protocol.AppendPositioned(nil, "user:1", "ab", 3, 1000, []byte("x"))[protocol.HeaderLen:]
	for _, n := range []int{0, 10, 17, 20} {
		if _, err := splitPositioned(whole[:n]); err == nil {
			t.Errorf("%d bytes accepted", n)
		}
	}
	p, err := splitPositioned(whole)
	if err != nil || p.op != 1000 || p.offset != 3 || string(p.stream) != "user:1" || string(p.epoch) != "ab" || string(p.body) != "x" {
		t.Fatalf("%+v, %v", p, err)
	}
}
