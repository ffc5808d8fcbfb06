package queue

import (
	"fmt"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

// Encode serialises msg with the Thrift IDL's binary encoding, the wire form
// of every queue.
func Encode(msg *common.PushMsg) []byte {
	buf := make([]byte, msg.BLength())
	msg.FastWriteNocopy(buf, nil)
	return buf
}

// Decode parses a message produced by Encode. Anything that does not parse
// is ErrPoison. The generated FastRead panics on some malformed input (an
// unknown field type reaches an out-of-range table lookup; found by
// FuzzDecode), so Decode turns a panic into ErrPoison: a bad message in the
// queue must never take job down.
func Decode(b []byte) (msg *common.PushMsg, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("%w: decode push message: %v", ErrPoison, r)
		}
	}()
	if err := checkThrift(b); err != nil {
		return nil, fmt.Errorf("%w: decode push message: %v", ErrPoison, err)
	}
	msg = common.NewPushMsg()
	if _, err := msg.FastRead(b); err != nil {
		return nil, fmt.Errorf("%w: decode push message: %v", ErrPoison, err)
	}
	return msg, nil
}
