package device

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// streamPeer serves one goim connection over real TCP: it answers auth
// with the auth reply followed by first (in the same write), then writes
// each chunk of rest separately, pausing between them so that each
// reaches the device as a read of its own, then closes.
func streamPeer(t *testing.T, first []byte, rest [][]byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		f, _, err := protocol.ReadFrame(bufio.NewReader(c), nil, protocol.MaxPackSize)
		if err != nil || f.Op != protocol.OpAuth {
			t.Errorf("first frame %+v, %v", f, err)
			return
		}
		if _, err := c.Write(protocol.AppendFrame(nil, f.Ver, protocol.OpAuthReply, f.Seq, nil)); err != nil {
			return
		}
		if len(first) > 0 {
			time.Sleep(time.Millisecond)
			c.Write(first)
		}
		for _, b := range rest {
			time.Sleep(2 * time.Millisecond)
			if _, err := c.Write(b); err != nil {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}()
	return ln.Addr().String()
}

// chunks cuts b into pieces of n bytes.
func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

// serveAll connects to addr with engine and serves until the end,
// returning the pushes, heartbeat replies, reads and Serve's error.
func serveAll(t *testing.T, addr, engine string) (*recorder, int64, error) {
	t.Helper()
	conn, err := Connect(context.Background(), Options{Transport: TCP, Addr: addr, Timeout: 5 * time.Second, Engine: engine}, Token{Mid: 42})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(-1)
	served := make(chan error, 1)
	go func() { served <- conn.Serve(rec) }()
	select {
	case err = <-served:
	case <-time.After(10 * time.Second):
		conn.Close()
		t.Fatal("serve did not end")
	}
	return rec, conn.Reads(), err
}

// everyForm is one of each server frame a device handles after auth, and
// the pushes it should yield.
func everyForm() ([]byte, []string) {
	var out []byte
	out = append(out, hbReply(2, 7)...)
	out = protocol.AppendFrame(out, 1, 1000, 0, []byte("single"))
	out = append(out, batch("b1", "b2").Frames()...)
	out = append(out, batch("r1", "r2", "r3").Raw()...)
	out = protocol.AppendPositioned(out, "room:test://1", "ab", 5, 1000, []byte("pos5"))
	b := protocol.NewBatch(256)
	b.AddPositioned("user:42", "cd", 1, 1001, []byte("u1"))
	b.Add(1000, []byte("plain"))
	out = append(out, b.Raw()...)
	out = protocol.AppendFrame(out, 1, protocol.OpSendMsgReply, 0, nil) // ignored
	out = protocol.AppendFrame(out, 1, 1000, 0, nil)                    // empty push
	return out, []string{"single", "b1", "b2", "r1", "r2", "r3", "pos5", "u1", "plain", ""}
}

// TestFramesSplitAcrossReads dribbles every form of server frame to the
// device in small pieces, so headers and bodies straddle TCP segments,
// including the bytes that arrive with the auth reply.
func TestFramesSplitAcrossReads(t *testing.T) {
	stream, want := everyForm()
	for _, size := range []int{1, 3, 16, 17, 50} {
		for _, engine := range enginesFor(TCP) {
			t.Run(fmt.Sprintf("%d bytes/%s", size, engine), func(t *testing.T) {
				parts := chunks(stream, size)
				addr := streamPeer(t, parts[0], parts[1:])
				rec, reads, err := serveAll(t, addr, engine)
				if err == nil || !strings.Contains(err.Error(), "read header: EOF") {
					t.Fatalf("serve ended with %v, want the server's close", err)
				}
				if !reflect.DeepEqual(rec.pushes, want) || !reflect.DeepEqual(rec.online, []int32{7}) {
					t.Fatalf("pushes %q online %v; want %q [7]", rec.pushes, rec.online, want)
				}
				if size == 1 && reads < int64(len(parts))/2 {
					t.Fatalf("%d reads for %d pieces", reads, len(parts))
				}
			})
		}
	}
}

// TestFrameLargerThanReadBuffer: a push larger than a poll loop's shared
// buffer (and than the goroutine engine's bufio) arrives whole, alone and
// between other frames, whether or not it came with the auth reply.
func TestFrameLargerThanReadBuffer(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), (3*pollReadSize)/16+5)
	var stream []byte
	stream = protocol.AppendFrame(stream, 1, 1000, 0, []byte("before"))
	stream = protocol.AppendFrame(stream, 1, 1000, 0, big)
	stream = protocol.AppendFrame(stream, 1, 1000, 0, []byte("after"))
	want := []string{"before", string(big), "after"}
	for _, engine := range enginesFor(TCP) {
		for _, withAuth := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/with auth %v", engine, withAuth), func(t *testing.T) {
				var addr string
				if withAuth {
					addr = streamPeer(t, stream, nil)
				} else {
					addr = streamPeer(t, nil, chunks(stream, 40000))
				}
				rec, _, err := serveAll(t, addr, engine)
				if err == nil || !strings.Contains(err.Error(), "read header: EOF") {
					t.Fatalf("serve ended with %v", err)
				}
				if !reflect.DeepEqual(rec.pushes, want) {
					t.Fatalf("got %d pushes (%d bytes in the second)", len(rec.pushes), len(rec.pushes[min(1, len(rec.pushes)-1)]))
				}
			})
		}
	}
}

// TestLostReasonsMatchAcrossEngines: a server that closes between frames,
// inside a header, inside a body or after a bad header ends Serve with the
// same reason on both engines, so lost devices are reported alike.
func TestLostReasonsMatchAcrossEngines(t *testing.T) {
	push := protocol.AppendFrame(nil, 1, 1000, 0, []byte("payload"))
	bad := append([]byte(nil), push...)
	bad[5] = 99 // header length
	cases := []struct {
		name   string
		stream []byte
		want   string
	}{
		{"between frames", push, "device: read: protocol: read header: EOF"},
		{"inside a header", push[:7], "device: read: protocol: read header: unexpected EOF"},
		{"inside a body", push[:20], "device: read: protocol: read body: unexpected EOF"},
		{"bad header", bad, "device: read: protocol: header length is not 16: 99"},
		{"nested OpRaw", protocol.AppendFrame(nil, 1, protocol.OpRaw, 0, batch("x").Raw()), "device: OpRaw nested in OpRaw"},
	}
	for _, c := range cases {
		for _, engine := range enginesFor(TCP) {
			t.Run(c.name+"/"+engine, func(t *testing.T) {
				addr := streamPeer(t, nil, [][]byte{c.stream})
				_, _, err := serveAll(t, addr, engine)
				if err == nil || err.Error() != c.want {
					t.Fatalf("serve ended with %v, want %q", err, c.want)
				}
			})
		}
	}
}

// TestCloseEndsServe: Close by us ends Serve with net.ErrClosed, whether
// it comes before or after Start, and later heartbeats fail.
func TestCloseEndsServe(t *testing.T) {
	for _, engine := range enginesFor(TCP) {
		for _, before := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/before start %v", engine, before), func(t *testing.T) {
				addr := scriptedTCP(t, false, func(func([]byte), int32) {})
				conn, err := Connect(context.Background(), Options{Transport: TCP, Addr: addr, Timeout: 5 * time.Second, Engine: engine}, Token{Mid: 42, RoomID: "test://1", Accepts: []int32{1000}})
				if err != nil {
					t.Fatal(err)
				}
				if err := conn.Heartbeat(); err != nil {
					t.Fatal(err)
				}
				if before {
					conn.Close()
				}
				end := make(chan error, 1)
				conn.Start(newRecorder(-1), func(err error) { end <- err })
				if !before {
					time.Sleep(10 * time.Millisecond)
					conn.Close()
				}
				select {
				case err := <-end:
					if !errors.Is(err, net.ErrClosed) {
						t.Fatalf("serve ended with %v, want net.ErrClosed", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("close did not end serve")
				}
				if err := conn.Heartbeat(); err == nil {
					t.Fatal("heartbeat after close succeeded")
				}
				conn.Close() // a second close is harmless
			})
		}
	}
}

// countingHandler counts pushes and heartbeat replies of many devices.
type countingHandler struct {
	mu      *sync.Mutex
	pushes  *int
	replies *int
	// busy detects concurrent calls for one device.
	busy bool
	t    *testing.T
}

func (h *countingHandler) enter() {
	if h.busy {
		h.t.Error("concurrent handler calls for one device")
	}
	h.busy = true
}

func (h *countingHandler) Push(op int32, body []byte) {
	h.enter()
	defer func() { h.busy = false }()
	if string(body) != "hello" {
		h.t.Errorf("push %q", body)
	}
	h.mu.Lock()
	*h.pushes++
	h.mu.Unlock()
}

func (h *countingHandler) HeartbeatReply(int32) {
	h.enter()
	defer func() { h.busy = false }()
	h.mu.Lock()
	*h.replies++
	h.mu.Unlock()
}

// TestManyPollDevices runs 300 devices on the poll loops against one peer
// that echoes heartbeats and pushes to every device while they heartbeat
// from another goroutine, then closes them all.
func TestManyPollDevices(t *testing.T) {
	const n, perDevice = 300, 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				f, _, err := protocol.ReadFrame(r, nil, protocol.MaxPackSize)
				if err != nil {
					return
				}
				out := protocol.AppendFrame(nil, 1, protocol.OpAuthReply, f.Seq, nil)
				for range perDevice {
					out = protocol.AppendFrame(out, 1, 1000, 0, []byte("hello"))
				}
				c.Write(out)
				for {
					f, _, err := protocol.ReadFrame(r, nil, protocol.MaxPackSize)
					if err != nil {
						return
					}
					c.Write(hbReply(f.Seq, 1))
				}
			}()
		}
	}()
	var mu sync.Mutex
	var pushes, replies int
	var conns []Conn
	var ended sync.WaitGroup
	for range n {
		conn, err := Connect(context.Background(), Options{Transport: TCP, Addr: ln.Addr().String(), Source: net.ParseIP("127.0.0.4"), Timeout: 5 * time.Second, Engine: EnginePoll}, Token{Mid: 1})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		ended.Add(1)
		conn.Start(&countingHandler{mu: &mu, pushes: &pushes, replies: &replies, t: t}, func(err error) {
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("device ended with %v", err)
			}
			ended.Done()
		})
	}
	for range 3 {
		for _, c := range conns {
			if err := c.Heartbeat(); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		p, r := pushes, replies
		mu.Unlock()
		if p == n*perDevice && r == 3*n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pushes, %d replies; want %d, %d", p, r, n*perDevice, 3*n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range conns {
		c.Close()
	}
	ended.Wait()
}

// FuzzSplitter feeds a stream of frames to the splitter cut at arbitrary
// points and checks it yields exactly the frames protocol.Decode finds in
// the whole stream, and the same error.
func FuzzSplitter(f *testing.F) {
	stream, _ := everyForm()
	f.Add(stream, []byte{1, 2, 3, 200})
	f.Add(stream[:40], []byte{16})
	f.Add([]byte{0, 0, 0, 16, 0, 99, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, []byte{5})
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		type frame struct {
			ver     int16
			op, seq int32
			body    string
		}
		var want []frame
		var wantErr error
		rest := stream
		for len(rest) > 0 {
			fr, n, err := protocol.Decode(rest, maxServerFrame)
			if errors.Is(err, protocol.ErrShort) {
				break
			}
			if err != nil {
				wantErr = err
				break
			}
			want = append(want, frame{fr.Ver, fr.Op, fr.Seq, string(fr.Body)})
			rest = rest[n:]
		}
		var s splitter
		var got []frame
		var gotErr error
		collect := func(fr protocol.Frame) error {
			got = append(got, frame{fr.Ver, fr.Op, fr.Seq, string(fr.Body)})
			return nil
		}
		data := stream
		for i := 0; len(data) > 0 && gotErr == nil; i++ {
			n := len(data)
			if len(cuts) > 0 {
				n = min(int(cuts[i%len(cuts)])+1, len(data))
			}
			gotErr = s.feed(data[:n], collect)
			data = data[n:]
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("frames %v, want %v", got, want)
		}
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("error %v, want %v", gotErr, wantErr)
		}
		if gotErr == nil && len(s.pending) != len(rest) {
			t.Fatalf("pending %d bytes, want %d", len(s.pending), len(rest))
		}
	})
}
