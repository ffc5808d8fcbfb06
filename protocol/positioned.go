package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// The recovery extension (docs/recovery.md): pushes to a connection that
// opted in with OpResume carry their place in the target's stream, in an
// OpPositioned frame whose body is
//
//	Op int32 | Offset int64 | len(Stream) uint16 | Stream | len(Epoch) uint16 | Epoch | Body
//
// big-endian like the frame header.

// Stream name prefixes: a user's stream is "user:<mid>" (every device of
// the user shares it; a push by key joins the stream of the key's user),
// a room's is "room:<type>://<id>".
const (
	UserStreamPrefix = "user:"
	RoomStreamPrefix = "room:"
)

// UserStream names the stream of user mid.
func UserStream(mid int64) string { return UserStreamPrefix + strconv.FormatInt(mid, 10) }

// RoomStream names the stream of room id ("type://id").
func RoomStream(roomID string) string { return RoomStreamPrefix + roomID }

// MaxStreamName bounds a stream name: the room prefix and the longest
// room id.
const MaxStreamName = len(RoomStreamPrefix) + MaxRoomID

// maxEpoch bounds an epoch on the wire; logic's are 16 hex digits.
const maxEpoch = 64

// positionedFixed is the fixed part of an OpPositioned body.
const positionedFixed = 4 + 8 + 2 + 2

// ErrPositioned marks a malformed OpPositioned body.
var ErrPositioned = errors.New("protocol: malformed positioned push")

// Positioned is a decoded OpPositioned body. Stream and Epoch are copies;
// Body aliases the frame it was parsed from.
type Positioned struct {
	Op     int32
	Offset int64
	Stream string
	Epoch  string
	Body   []byte
}

// PositionedLen is the encoded length of an OpPositioned frame (header
// included) for a push of body in stream at epoch.
func PositionedLen(stream, epoch string, body []byte) int {
	return HeaderLen + positionedFixed + len(stream) + len(epoch) + len(body)
}

// AppendPositioned appends a whole server frame {ver 1, OpPositioned, seq
// 0} carrying the push {op, body} at (stream, epoch, offset).
func AppendPositioned(dst []byte, stream, epoch string, offset int64, op int32, body []byte) []byte {
	dst = AppendHeader(dst, PositionedLen(stream, epoch, body), PushVer, OpPositioned, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(op))
	dst = binary.BigEndian.AppendUint64(dst, uint64(offset))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(stream)))
	dst = append(dst, stream...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(epoch)))
	dst = append(dst, epoch...)
	return append(dst, body...)
}

// ParsePositioned decodes the body of an OpPositioned frame. A body that
// is short, names a stream or epoch longer than the protocol allows, or
// a negative offset is refused with ErrPositioned.
func ParsePositioned(b []byte) (Positioned, error) {
	if len(b) < positionedFixed {
		return Positioned{}, fmt.Errorf("%w: %d bytes", ErrPositioned, len(b))
	}
	p := Positioned{
		Op:     int32(binary.BigEndian.Uint32(b[0:4])),
		Offset: int64(binary.BigEndian.Uint64(b[4:12])),
	}
	if p.Offset < 0 {
		return Positioned{}, fmt.Errorf("%w: offset %d", ErrPositioned, p.Offset)
	}
	rest := b[12:]
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if n > MaxStreamName || n+2 > len(rest) {
		return Positioned{}, fmt.Errorf("%w: stream length %d", ErrPositioned, n)
	}
	p.Stream = string(rest[:n])
	rest = rest[n:]
	n = int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if n > maxEpoch || n > len(rest) {
		return Positioned{}, fmt.Errorf("%w: epoch length %d", ErrPositioned, n)
	}
	p.Epoch = string(rest[:n])
	p.Body = rest[n:len(rest):len(rest)]
	return p, nil
}

// AddPositioned appends one OpPositioned push to the batch.
func (b *Batch) AddPositioned(stream, epoch string, offset int64, op int32, body []byte) {
	b.buf = AppendPositioned(b.buf, stream, epoch, offset, op, body)
	b.count++
}

// StreamPos is a place in a stream as the JSON bodies of OpResume and
// OpResumeReply carry it. Epoch "" with Offset 0 is no position.
type StreamPos struct {
	Stream string `json:"stream"`
	Epoch  string `json:"epoch,omitempty"`
	Offset int64  `json:"offset,omitempty"`
}

// ResumeRequest is the body of OpResume: the streams to recover, each
// with the last position the device holds.
type ResumeRequest struct {
	Streams []StreamPos `json:"streams"`
}

// Verdict reasons of ResumeReply (docs/recovery.md).
const (
	ReasonGap         = "gap"
	ReasonEpoch       = "epoch"
	ReasonLimit       = "limit"
	ReasonNoHistory   = "no_history"
	ReasonNotFollowed = "not_followed"
	ReasonUnavailable = "unavailable"
)

// StreamVerdict is one stream's outcome in OpResumeReply: where the device
// now stands (live messages continue after Offset), whether nothing was
// missed, why not, and how many messages were recovered.
type StreamVerdict struct {
	Stream    string `json:"stream"`
	Epoch     string `json:"epoch,omitempty"`
	Offset    int64  `json:"offset,omitempty"`
	Recovered bool   `json:"recovered"`
	Reason    string `json:"reason,omitempty"`
	Count     int    `json:"count,omitempty"`
}

// ResumeReply is the body of OpResumeReply.
type ResumeReply struct {
	Streams []StreamVerdict `json:"streams"`
}

// Ack is the body of OpAck: the device has processed its user stream up
// to Offset in Epoch.
type Ack struct {
	Epoch  string `json:"epoch"`
	Offset int64  `json:"offset"`
}
