package queue

import (
	"encoding/binary"
	"errors"
)

// The generated Thrift decoder trusts container sizes: a 30-byte message
// that claims a list of 2^31 elements makes it allocate gigabytes (found by
// FuzzDecode). checkThrift walks the Thrift binary encoding first and refuses
// any length that the remaining bytes cannot hold, so Decode only ever hands
// well-bounded input to the generated code.

const maxThriftDepth = 16

var errThrift = errors.New("malformed thrift")

// Thrift binary type ids.
const (
	tStop   = 0
	tBool   = 2
	tByte   = 3
	tDouble = 4
	tI16    = 6
	tI32    = 8
	tI64    = 10
	tString = 11
	tStruct = 12
	tMap    = 13
	tSet    = 14
	tList   = 15
)

// minSize is the fewest bytes one value of type t takes.
func minSize(t byte) (int, bool) {
	switch t {
	case tBool, tByte, tStruct:
		return 1, true
	case tI16:
		return 2, true
	case tI32, tString:
		return 4, true
	case tDouble, tI64:
		return 8, true
	case tList, tSet:
		return 5, true
	case tMap:
		return 6, true
	}
	return 0, false
}

// checkThrift reports whether b starts with a well-formed struct.
func checkThrift(b []byte) error {
	_, err := checkStruct(b, 0)
	return err
}

func checkStruct(b []byte, depth int) (int, error) {
	if depth > maxThriftDepth {
		return 0, errThrift
	}
	off := 0
	for {
		if off >= len(b) {
			return 0, errThrift
		}
		t := b[off]
		off++
		if t == tStop {
			return off, nil
		}
		if off+2 > len(b) {
			return 0, errThrift
		}
		off += 2 // field id
		n, err := checkValue(b[off:], t, depth)
		if err != nil {
			return 0, err
		}
		off += n
	}
}

func checkValue(b []byte, t byte, depth int) (int, error) {
	fixed := func(n int) (int, error) {
		if len(b) < n {
			return 0, errThrift
		}
		return n, nil
	}
	switch t {
	case tBool, tByte:
		return fixed(1)
	case tI16:
		return fixed(2)
	case tI32:
		return fixed(4)
	case tI64, tDouble:
		return fixed(8)
	case tString:
		if len(b) < 4 {
			return 0, errThrift
		}
		n := int64(int32(binary.BigEndian.Uint32(b)))
		if n < 0 || n > int64(len(b)-4) {
			return 0, errThrift
		}
		return 4 + int(n), nil
	case tStruct:
		return checkStruct(b, depth+1)
	case tList, tSet:
		if len(b) < 5 {
			return 0, errThrift
		}
		return checkElems(b, 5, int32(binary.BigEndian.Uint32(b[1:5])), depth, b[0])
	case tMap:
		if len(b) < 6 {
			return 0, errThrift
		}
		return checkElems(b, 6, int32(binary.BigEndian.Uint32(b[2:6])), depth, b[0], b[1])
	}
	return 0, errThrift
}

// checkElems checks size repetitions of the element types (one for lists,
// key and value for maps) starting at b[off:].
func checkElems(b []byte, off int, size int32, depth int, types ...byte) (int, error) {
	if size < 0 {
		return 0, errThrift
	}
	per := 0
	for _, t := range types {
		m, ok := minSize(t)
		if !ok {
			return 0, errThrift
		}
		per += m
	}
	if int64(size)*int64(per) > int64(len(b)-off) {
		return 0, errThrift
	}
	for i := int32(0); i < size; i++ {
		for _, t := range types {
			n, err := checkValue(b[off:], t, depth+1)
			if err != nil {
				return 0, err
			}
			off += n
		}
	}
	return off, nil
}
