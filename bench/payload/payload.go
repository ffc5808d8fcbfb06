// Package payload is the body of every message the bench pushes: a message
// id (for exactly-once accounting), the push time (for latency measured at
// arrival) and the device it is meant for (to catch misrouted key pushes).
//
// Layout, big-endian, 24 bytes then optional padding:
//
//	"GEB1" | id uint64 | sent unix nanos int64 | dest uint32 | padding
//
// The body is binary on purpose: a device decodes it with a few loads, so
// the bench spends its CPU on connections, not on parsing, when it shares a
// 2-core machine with the server it measures.
package payload

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic starts every bench body; bodies without it are someone else's
// pushes and are counted as foreign, not as errors.
const Magic = "GEB1"

// MinSize is the encoded size without padding.
const MinSize = 24

// AnyDevice is the dest of messages meant for every receiver (room and
// broadcast pushes).
const AnyDevice = ^uint32(0)

// ErrForeign means the body is not a bench message.
var ErrForeign = errors.New("payload: not a bench message")

// Message is one decoded bench body.
type Message struct {
	// ID is unique within one scenario run; ids are dense from 0.
	ID uint64
	// Sent is the pusher's wall clock (unix nanoseconds) just before the
	// push request left.
	Sent int64
	// Dest is the device index the message is addressed to, or AnyDevice.
	Dest uint32
}

// Append encodes m into dst, padded with 'x' up to size bytes (bodies are
// never shorter than MinSize).
func Append(dst []byte, m Message, size int) []byte {
	dst = append(dst, Magic...)
	dst = binary.BigEndian.AppendUint64(dst, m.ID)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Sent))
	dst = binary.BigEndian.AppendUint32(dst, m.Dest)
	for i := MinSize; i < size; i++ {
		dst = append(dst, 'x')
	}
	return dst
}

// Decode reads a body. Padding is ignored; a body without the magic is
// ErrForeign, one with the magic but too short is a distinct error.
func Decode(b []byte) (Message, error) {
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return Message{}, ErrForeign
	}
	if len(b) < MinSize {
		return Message{}, fmt.Errorf("payload: truncated bench message: %d bytes, want at least %d", len(b), MinSize)
	}
	return Message{
		ID:   binary.BigEndian.Uint64(b[4:12]),
		Sent: int64(binary.BigEndian.Uint64(b[12:20])),
		Dest: binary.BigEndian.Uint32(b[20:24]),
	}, nil
}
