package edge

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gobwas/ws"

	"github.com/goim-edge/goim-edge/protocol"
)

// byteSource is a wsSource over a byte slice: what netpoll's Reader would
// hold had all of it arrived. Past the end it fails as a closed
// connection does.
type byteSource struct{ b []byte }

func (s *byteSource) Len() int { return len(s.b) }

func (s *byteSource) Next(n int) ([]byte, error) {
	if n > len(s.b) {
		return nil, io.ErrUnexpectedEOF
	}
	p := s.b[:n:n]
	s.b = s.b[n:]
	return p, nil
}

// maskedFrames encodes frames as a client sends them.
func maskedFrames(frames ...ws.Frame) []byte {
	var b bytes.Buffer
	for _, f := range frames {
		f.Payload = append([]byte(nil), f.Payload...)
		_ = ws.WriteFrame(&b, ws.MaskFrameInPlace(f))
	}
	return b.Bytes()
}

// FuzzWSFrameReader checks the netpoll transport's frame reader. Any byte
// stream: the reader returns frames within the limits (a message at most
// wsMaxWire bytes, a control frame at most 125, an inflated message at
// most a goim frame) or a refusal, and never panics. Any message up to
// the limit, sent in fragments of any size with a ping between them:
// it comes out whole and unchanged.
func FuzzWSFrameReader(f *testing.F) {
	auth := protocol.AppendFrame(nil, 1, protocol.OpAuth, 1, []byte(`{"mid":1}`))
	f.Add(maskedFrames(ws.NewBinaryFrame(auth)), auth, uint8(3), false)
	f.Add(maskedFrames(ws.NewFrame(ws.OpBinary, false, auth[:4]), ws.NewPingFrame([]byte("p")), ws.NewFrame(ws.OpContinuation, true, auth[4:])), auth, uint8(1), false)
	f.Add(maskedFrames(ws.NewCloseFrame(ws.NewCloseFrameBody(1000, "bye"))), []byte{}, uint8(0), false)
	f.Add([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0x10, 0, 0}, make([]byte, protocol.MaxPackSize), uint8(200), true)
	f.Add([]byte{0xc2, 0x85, 1, 2, 3, 4, 0xf3, 0x4a, 0xcd, 0xc9, 0xc9}, []byte("x"), uint8(255), true)
	f.Add([]byte{0x82, 0x05, 'h', 'e', 'l', 'l', 'o'}, []byte("unmasked"), uint8(2), false)
	f.Fuzz(func(t *testing.T, stream, msg []byte, chunk uint8, deflate bool) {
		rd := wsReader{deflate: deflate}
		src := &byteSource{b: append([]byte(nil), stream...)}
		inflated := make([]byte, protocol.MaxPackSize)
		for {
			fr, err := rd.next(src, 0)
			if err != nil {
				var we *wsError
				if !errors.As(err, &we) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("error %v is neither a refusal nor the end of input", err)
				}
				rd.reset()
				break
			}
			switch {
			case fr.op.IsControl():
				if len(fr.payload) > 125 {
					t.Fatalf("control frame of %d bytes", len(fr.payload))
				}
			case fr.op == ws.OpContinuation:
			default:
				if len(fr.payload) > wsMaxWire {
					t.Fatalf("message of %d bytes", len(fr.payload))
				}
				if fr.compressed {
					if !deflate {
						t.Fatal("compressed message without the extension")
					}
					if n, err := wsInflate(inflated, fr.payload); err == nil && n > protocol.MaxPackSize {
						t.Fatalf("inflated to %d bytes", n)
					}
				}
				rd.done()
			}
		}

		// Round trip of a message in fragments.
		if len(msg) > protocol.MaxPackSize {
			msg = msg[:protocol.MaxPackSize]
		}
		size := max(int(chunk), 1)
		var frames []ws.Frame
		for i := 0; i == 0 || i < len(msg); i += size {
			op := ws.OpContinuation
			if i == 0 {
				op = ws.OpBinary
			}
			end := min(i+size, len(msg))
			frames = append(frames, ws.NewFrame(op, end == len(msg), msg[i:end]))
			if end < len(msg) {
				frames = append(frames, ws.NewPingFrame([]byte("between")))
			}
		}
		rd = wsReader{}
		src = &byteSource{b: maskedFrames(frames...)}
		for {
			fr, err := rd.next(src, 0)
			if err != nil {
				t.Fatalf("valid fragments of a %d-byte message: %v", len(msg), err)
			}
			if fr.op == ws.OpBinary {
				if !bytes.Equal(fr.payload, msg) {
					t.Fatalf("reassembled %d bytes, want %d", len(fr.payload), len(msg))
				}
				rd.done()
				break
			}
		}
		if src.Len() != 0 {
			t.Fatalf("%d bytes left after the message", src.Len())
		}
	})
}
