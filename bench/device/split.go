package device

import (
	"errors"
	"fmt"
	"io"

	"github.com/goim-edge/goim-edge/protocol"
)

// splitter cuts a TCP byte stream into goim frames without a buffer of its
// own between frames: whole frames are handed out in place from the bytes
// given to feed, and only a frame that straddles two feeds is copied into
// pending, sized for that frame and dropped once it is whole. An idle
// device therefore holds no read buffer at all.
type splitter struct {
	pending []byte
}

// feed hands every whole frame of data (after what pending holds) to fn,
// in order, and keeps the trailing partial frame. A frame's body is valid
// only during fn. The first error, from a bad header or from fn, is
// returned and the splitter must not be fed again.
func (s *splitter) feed(data []byte, fn func(protocol.Frame) error) error {
	for len(s.pending) > 0 && len(data) > 0 {
		// Complete the header, then the frame it announces.
		want := protocol.HeaderLen
		if len(s.pending) >= protocol.HeaderLen {
			h, err := protocol.ParseHeader(s.pending, maxServerFrame)
			if err != nil {
				return err
			}
			want = int(h.PackLen)
		}
		take := min(want-len(s.pending), len(data))
		s.pending = append(s.pending, data[:take]...)
		data = data[take:]
		if len(s.pending) < want {
			break // data is spent
		}
		if want == protocol.HeaderLen {
			h, err := protocol.ParseHeader(s.pending, maxServerFrame)
			if err != nil {
				return err
			}
			if int(h.PackLen) > protocol.HeaderLen {
				s.pending = grow(s.pending, int(h.PackLen))
				continue
			}
		}
		f, _, err := protocol.Decode(s.pending, maxServerFrame)
		s.pending = nil
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	for len(data) > 0 {
		f, n, err := protocol.Decode(data, maxServerFrame)
		if errors.Is(err, protocol.ErrShort) {
			size := protocol.HeaderLen
			if h, err := protocol.ParseHeader(data, maxServerFrame); err == nil {
				size = int(h.PackLen)
			}
			s.pending = append(make([]byte, 0, max(size, len(data))), data...)
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// grow returns b with room for n bytes in all.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b
	}
	return append(make([]byte, 0, n), b...)
}

// eof is the error of a stream that ended with what the splitter holds,
// worded as protocol.ReadFrame words it, so a lost device is reported
// with the same reason whichever engine read it.
func (s *splitter) eof() error {
	switch {
	case len(s.pending) == 0:
		return fmt.Errorf("protocol: read header: %w", io.EOF)
	case len(s.pending) < protocol.HeaderLen:
		return fmt.Errorf("protocol: read header: %w", io.ErrUnexpectedEOF)
	default:
		return fmt.Errorf("protocol: read body: %w", io.ErrUnexpectedEOF)
	}
}

// failed is the error of a read that failed with what the splitter holds.
func (s *splitter) failed(err error) error {
	if len(s.pending) < protocol.HeaderLen {
		return fmt.Errorf("protocol: read header: %w", err)
	}
	return fmt.Errorf("protocol: read body: %w", err)
}
