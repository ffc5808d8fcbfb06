package edge

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/hertz-contrib/websocket"

	"github.com/goim-edge/goim-edge/protocol"
)

// FuzzReadMessage checks the WebSocket message reader against any message
// and any read chunking: it returns the message whole or refuses it, and
// never reports bytes it was not given.
func FuzzReadMessage(f *testing.F) {
	f.Add([]byte("hello"), uint8(1))
	f.Add(make([]byte, protocol.MaxPackSize), uint8(7))
	f.Add(make([]byte, protocol.MaxPackSize+1), uint8(0))
	f.Fuzz(func(t *testing.T, msg []byte, chunk uint8) {
		var r io.Reader = bytes.NewReader(msg)
		if chunk%2 == 1 {
			r = iotest.OneByteReader(r)
		} else if chunk%3 == 0 {
			r = iotest.DataErrReader(r)
		}
		buf := make([]byte, protocol.MaxPackSize)
		n, err := readMessage(r, buf)
		if len(msg) > len(buf) {
			if !errors.Is(err, websocket.ErrReadLimit) {
				t.Fatalf("message of %d bytes: err %v, want read limit", len(msg), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("message of %d bytes: %v", len(msg), err)
		}
		if !bytes.Equal(buf[:n], msg) {
			t.Fatalf("read %x, want %x", buf[:n], msg)
		}
	})
}

// FuzzSessionFrames feeds any byte stream, decoded as the TCP path does,
// to an authenticated session of an edge backed by the real logic. Every
// frame it accepts gets exactly one reply that echoes ver and seq, and
// echo replies carry only the bytes the client sent; bad frames end the
// session without a reply.
func FuzzSessionFrames(f *testing.F) {
	// Every frame gets its reply here: the rate limit, which drops frames
	// without one, has its own tests (upstream_test.go).
	cl := newCluster(f, func(c *Config) { c.UpstreamRate = 0 }, nil)
	seed := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	f.Add(seed(protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 1, nil)))
	f.Add(seed(protocol.AppendFrame(nil, 2, protocol.OpChangeRoom, 2, []byte("live://1")),
		protocol.AppendFrame(nil, 1, protocol.OpSub, 3, []byte("1000,x,1001")),
		protocol.AppendFrame(nil, 1, protocol.OpJoinRoom, 4, []byte("a://b")),
		protocol.AppendFrame(nil, 1, protocol.OpLeaveRoom, 5, []byte("a://b"))))
	f.Add(seed(protocol.AppendFrame(nil, 1, protocol.OpSendMsg, 6, []byte("up")),
		protocol.AppendFrame(nil, 1, 1000, 7, nil)))
	f.Add([]byte("\x00\x00\x00\x30\x00\x10\x00\x01\x00\x00\x00\x0c\x00\x00\x00\x01live"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		tr := &recTransport{}
		s := newSession(cl.edge, tr)
		defer s.close("fuzz")
		if err := s.handle(protocol.Frame{Ver: 1, Op: protocol.OpAuth, Seq: 1, Body: token(1, "fuzz", nil)}); err != nil {
			t.Fatalf("auth: %v", err)
		}
		var reqs []protocol.Frame
		for len(stream) > 0 {
			fr, n, err := protocol.Decode(stream, protocol.MaxPackSize)
			if err != nil {
				break // the TCP path closes (or waits for the rest, then times out)
			}
			stream = stream[n:]
			if err := s.handle(fr); err != nil {
				break
			}
			reqs = append(reqs, fr)
		}
		got := tr.written()[1:] // after the auth reply
		if len(got) != len(reqs) {
			t.Fatalf("%d replies to %d frames", len(got), len(reqs))
		}
		for i, req := range reqs {
			rep, err := protocol.DecodeMessage(got[i], len(got[i]))
			if err != nil {
				t.Fatalf("reply %d: %v", i, err)
			}
			if rep.Ver != req.Ver || rep.Seq != req.Seq {
				t.Fatalf("reply %d: ver/seq %d/%d, want %d/%d", i, rep.Ver, rep.Seq, req.Ver, req.Seq)
			}
			switch req.Op {
			case protocol.OpHeartbeat:
				if rep.Op != protocol.OpHeartbeatReply || len(rep.Body) != 4 {
					t.Fatalf("heartbeat reply %+v", rep)
				}
			case protocol.OpChangeRoom, protocol.OpSub, protocol.OpUnsub, protocol.OpLeaveRoom:
				if rep.Op != req.Op+1 || !bytes.Equal(rep.Body, req.Body) {
					t.Fatalf("op %d reply %+v does not echo %q", req.Op, rep, req.Body)
				}
			case protocol.OpJoinRoom:
				if rep.Op != protocol.OpJoinRoomReply || (len(rep.Body) != 0 && !bytes.Equal(rep.Body, req.Body)) {
					t.Fatalf("join reply %+v for %q", rep, req.Body)
				}
			default:
				if rep.Op != req.Op || len(rep.Body) != 0 {
					t.Fatalf("upstream op %d reply %+v", req.Op, rep)
				}
			}
		}
	})
}
