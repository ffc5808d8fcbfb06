package device

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/goim-edge/goim-edge/protocol"
)

// Recovery is what the Handler of a positioned device (Options.Resume set)
// also receives, on the reader goroutine like Push (docs/recovery.md).
type Recovery interface {
	// Position is called for every op-28 frame, just before Push is
	// called with the push it carries. stream and epoch alias the read
	// buffer and are valid only during the call.
	Position(stream, epoch []byte, offset int64)
	// ResumeReply is called with the body of each op-27 verdict (JSON
	// protocol.ResumeReply); it aliases the read buffer.
	ResumeReply(body []byte)
}

// resumeSeq is the seq of the op-26 frame; its op-27 verdict echoes it.
const resumeSeq = 0

// resumeFrame is the op-26 frame sent right before auth, or nil when the
// device does not opt in.
func resumeFrame(req *protocol.ResumeRequest) ([]byte, error) {
	if req == nil {
		return nil, nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("device: resume request: %w", err)
	}
	return protocol.AppendFrame(nil, 1, protocol.OpResume, resumeSeq, body), nil
}

// positioned is an op-28 body split in place. protocol.ParsePositioned
// copies the stream and epoch into strings; a device reads hundreds of
// thousands of these per second in a fan-out run, on the same two cores
// as the server, so it reads them without allocating.
type positioned struct {
	op            int32
	offset        int64
	stream, epoch []byte
	body          []byte
}

// positionedFixed is the fixed part of an op-28 body: op, offset and the
// two length prefixes.
const positionedFixed = 4 + 8 + 2 + 2

func splitPositioned(b []byte) (positioned, error) {
	if len(b) < positionedFixed {
		return positioned{}, fmt.Errorf("%w: %d bytes", protocol.ErrPositioned, len(b))
	}
	p := positioned{op: int32(binary.BigEndian.Uint32(b)), offset: int64(binary.BigEndian.Uint64(b[4:]))}
	rest := b[12:]
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if n+2 > len(rest) {
		return positioned{}, fmt.Errorf("%w: stream length %d", protocol.ErrPositioned, n)
	}
	p.stream, rest = rest[:n], rest[n:]
	n = int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if n > len(rest) {
		return positioned{}, fmt.Errorf("%w: epoch length %d", protocol.ErrPositioned, n)
	}
	p.epoch, p.body = rest[:n], rest[n:]
	return p, nil
}
