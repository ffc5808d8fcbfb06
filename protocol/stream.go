package protocol

import (
	"fmt"
	"io"
)

// ReadFrame reads one frame from a stream into buf (grown if too small) and
// returns it; the frame's body aliases buf. It is the blocking reader the
// bench clients and tests use; the edge's netpoll path decodes in place.
func ReadFrame(r io.Reader, buf []byte, maxPack int) (Frame, []byte, error) {
	if cap(buf) < HeaderLen {
		buf = make([]byte, HeaderLen, 256)
	}
	buf = buf[:HeaderLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return Frame{}, buf, fmt.Errorf("protocol: read header: %w", err)
	}
	h, err := ParseHeader(buf, maxPack)
	if err != nil {
		return Frame{}, buf, err
	}
	n := int(h.PackLen)
	if cap(buf) < n {
		nb := make([]byte, n)
		copy(nb, buf[:HeaderLen])
		buf = nb
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf[HeaderLen:]); err != nil {
		return Frame{}, buf, fmt.Errorf("protocol: read body: %w", err)
	}
	return Frame{Ver: h.Ver, Op: h.Op, Seq: h.Seq, Body: buf[HeaderLen:n:n]}, buf, nil
}
