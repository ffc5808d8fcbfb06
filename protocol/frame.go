// Package protocol is goim v2's binary frame format, shared by the edge's TCP
// and WebSocket transports, the bench clients and the tests.
//
// A frame is a 16-byte big-endian header followed by a body:
//
//	PackLen int32 | HeaderLen int16 (=16) | Ver int16 | Op int32 | Seq int32 | Body
//
// PackLen counts the header too.
package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// HeaderLen is the fixed header size; frames that claim another are refused.
	HeaderLen = 16
	// MaxBodySize is the largest body a client may send (goim's limit).
	MaxBodySize = 4096
	// MaxPackSize is the largest whole client frame.
	MaxPackSize = HeaderLen + MaxBodySize
)

// Decoding errors. Every one of them means the peer is not speaking the
// protocol; transports close that connection only.
var (
	ErrShort     = errors.New("protocol: incomplete frame")
	ErrHeaderLen = errors.New("protocol: header length is not 16")
	ErrPackLen   = errors.New("protocol: bad pack length")
	ErrTrailing  = errors.New("protocol: bytes after frame end")
)

// Frame is one decoded goim frame. Body aliases the buffer it was decoded
// from; copy it if the buffer is reused.
type Frame struct {
	Ver  int16
	Op   int32
	Seq  int32
	Body []byte
}

// Header is the fixed part of a frame, parsed before its body has arrived.
type Header struct {
	PackLen int32
	Ver     int16
	Op      int32
	Seq     int32
}

// BodyLen is the number of body bytes that follow the header.
func (h Header) BodyLen() int { return int(h.PackLen) - HeaderLen }

// ParseHeader checks and decodes a header. maxPack bounds PackLen so a peer
// cannot make the reader wait for (or allocate) more than it allows.
func ParseHeader(b []byte, maxPack int) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrShort
	}
	h := Header{
		PackLen: int32(binary.BigEndian.Uint32(b[0:4])),
		Ver:     int16(binary.BigEndian.Uint16(b[6:8])),
		Op:      int32(binary.BigEndian.Uint32(b[8:12])),
		Seq:     int32(binary.BigEndian.Uint32(b[12:16])),
	}
	if hl := int16(binary.BigEndian.Uint16(b[4:6])); hl != HeaderLen {
		return Header{}, fmt.Errorf("%w: %d", ErrHeaderLen, hl)
	}
	if h.PackLen < HeaderLen || int(h.PackLen) > maxPack {
		return Header{}, fmt.Errorf("%w: %d (limit %d)", ErrPackLen, h.PackLen, maxPack)
	}
	return h, nil
}

// Decode reads the first frame of b and returns it with the number of bytes
// it used. It returns ErrShort when b holds only part of a frame, so stream
// readers can wait for more; it never reads past PackLen.
func Decode(b []byte, maxPack int) (Frame, int, error) {
	h, err := ParseHeader(b, maxPack)
	if err != nil {
		return Frame{}, 0, err
	}
	n := int(h.PackLen)
	if len(b) < n {
		return Frame{}, 0, ErrShort
	}
	return Frame{Ver: h.Ver, Op: h.Op, Seq: h.Seq, Body: b[HeaderLen:n:n]}, n, nil
}

// DecodeMessage decodes a message that must hold exactly one frame, as a
// WebSocket message does. A frame whose PackLen disagrees with the message
// size is refused rather than padded or truncated.
func DecodeMessage(msg []byte, maxPack int) (Frame, error) {
	f, n, err := Decode(msg, maxPack)
	if err != nil {
		return Frame{}, err
	}
	if n != len(msg) {
		return Frame{}, fmt.Errorf("%w: pack length %d, message %d bytes", ErrTrailing, n, len(msg))
	}
	return f, nil
}

// Size is the encoded length of f.
func (f *Frame) Size() int { return HeaderLen + len(f.Body) }

// AppendTo appends the encoded frame to dst.
func (f *Frame) AppendTo(dst []byte) []byte {
	return AppendFrame(dst, f.Ver, f.Op, f.Seq, f.Body)
}

// AppendFrame appends one encoded frame to dst without building a Frame.
func AppendFrame(dst []byte, ver int16, op, seq int32, body []byte) []byte {
	dst = AppendHeader(dst, HeaderLen+len(body), ver, op, seq)
	return append(dst, body...)
}

// AppendHeader appends a header announcing packLen bytes in all; callers use
// it to wrap frames they append themselves, as OpRaw batches do.
func AppendHeader(dst []byte, packLen int, ver int16, op, seq int32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(packLen))
	dst = binary.BigEndian.AppendUint16(dst, HeaderLen)
	dst = binary.BigEndian.AppendUint16(dst, uint16(ver))
	dst = binary.BigEndian.AppendUint32(dst, uint32(op))
	return binary.BigEndian.AppendUint32(dst, uint32(seq))
}

// Encode returns f as a new byte slice.
func (f *Frame) Encode() []byte { return f.AppendTo(make([]byte, 0, f.Size())) }
