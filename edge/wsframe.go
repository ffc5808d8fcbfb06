package edge

import (
	"errors"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/goim-edge/goim-edge/protocol"
)

// The netpoll WebSocket transport's frame reader (RFC 6455 section 5).
// gobwas/ws parses headers and unmasks; what is ours is the state between
// frames of one fragmented message, which lives only while such a
// message is open, and the limits a goim device is held to:
//
//   - client frames are masked (else 1002);
//   - reserved bits and opcodes are refused (1002); RSV1 only marks the
//     first frame of a compressed message, and only once
//     permessage-deflate was negotiated;
//   - control frames are whole and at most 125 bytes (1002), and may come
//     between the fragments of a message;
//   - a message, whole or reassembled, holds at most one goim frame,
//     protocol.MaxPackSize bytes (1009); a frame that claims more is
//     refused from its header, before any of its payload is read.

// wsSource is what the reader takes bytes from: netpoll's Reader, whose
// Peek and Next block until the bytes arrive or the read timeout passes.
type wsSource interface {
	Len() int
	Next(n int) ([]byte, error)
}

// wsError ends a connection; reason is a session close reason and so
// picks the close code (wsCloseFor).
type wsError struct{ reason string }

func (e *wsError) Error() string { return "edge: websocket: " + e.reason }

var (
	errWSProtocol = &wsError{"protocol_error"}
	errWSTooBig   = &wsError{"too_big"}
	errWSBadUTF8  = &wsError{"bad_utf8"}
	// errWSPeerClose: the device sent a close frame.
	errWSPeerClose = &wsError{"peer"}
)

// wsMaxWire is the most payload bytes one message may carry on the wire:
// a goim frame, plus what deflate may add to a frame it cannot shrink.
const wsMaxWire = protocol.MaxPackSize + 64

// wsMessage is one fragmented message being reassembled.
type wsMessage struct {
	buf        *[]byte // from wsWireBuffers
	n          int
	compressed bool
	start      int64 // monotonic nanos of its first frame, for ReadTimeout
}

// wsWireBuffers lend reassembly buffers while a fragmented message is
// open.
var wsWireBuffers = sync.Pool{New: func() any {
	b := make([]byte, wsMaxWire)
	return &b
}}

// wsFrame is one frame read: a control frame, or a data frame that ends a
// message (msg is then the whole message, valid until the source is
// released and the next frame is read).
type wsFrame struct {
	op         ws.OpCode // OpPing, OpPong, OpClose, OpBinary or OpText
	payload    []byte
	compressed bool // a data message with RSV1: deflated
}

// wsReader is a connection's frame reader state.
type wsReader struct {
	deflate bool       // permessage-deflate negotiated: RSV1 allowed
	msg     *wsMessage // the fragmented message open, if any
	// hr reads headers; kept here so that handing it to ws.ReadHeader as
	// an io.Reader allocates nothing per frame.
	hr srcReader
}

// srcReader reads a header through Next, so the header's bytes are taken
// from netpoll's buffer as they are parsed.
type srcReader struct{ src wsSource }

func (r *srcReader) Read(p []byte) (int, error) {
	b, err := r.src.Next(len(p))
	if err != nil {
		return 0, err
	}
	return copy(p, b), nil
}

// next reads one frame. It returns a control frame, the whole message a
// data frame completes, or (op OpContinuation, no payload) nothing to
// handle yet: a fragment was stored. now stamps a message's first
// fragment. Errors other than *wsError come from the source (timeouts,
// closes).
func (r *wsReader) next(src wsSource, now int64) (wsFrame, error) {
	r.hr.src = src
	h, err := ws.ReadHeader(&r.hr)
	r.hr.src = nil
	if err != nil {
		if isHeaderError(err) {
			return wsFrame{}, errWSProtocol
		}
		return wsFrame{}, err
	}
	if err := r.check(h); err != nil {
		return wsFrame{}, err
	}
	p, err := src.Next(int(h.Length))
	if err != nil {
		return wsFrame{}, err
	}
	ws.Cipher(p, h.Mask, 0)
	if h.OpCode.IsControl() {
		if h.OpCode == ws.OpClose {
			return wsFrame{op: ws.OpClose, payload: p}, checkClosePayload(p)
		}
		return wsFrame{op: h.OpCode, payload: p}, nil
	}
	if r.msg == nil && h.Fin {
		return wsFrame{op: h.OpCode, payload: p, compressed: h.Rsv1()}, nil
	}
	if r.msg == nil {
		r.msg = &wsMessage{buf: wsWireBuffers.Get().(*[]byte), compressed: h.Rsv1(), start: now}
	}
	m := r.msg
	if m.n+len(p) > len(*m.buf) {
		r.reset()
		return wsFrame{}, errWSTooBig
	}
	m.n += copy((*m.buf)[m.n:], p)
	if !h.Fin {
		return wsFrame{}, nil
	}
	return wsFrame{op: ws.OpBinary, payload: (*m.buf)[:m.n], compressed: m.compressed}, nil
}

// check applies the framing rules to a header before its payload is read.
func (r *wsReader) check(h ws.Header) error {
	if !h.Masked || h.Rsv2() || h.Rsv3() {
		return errWSProtocol
	}
	switch op := h.OpCode; {
	case op.IsControl():
		if op.IsReserved() || !h.Fin || h.Length > 125 || h.Rsv1() {
			return errWSProtocol
		}
		return nil
	case op == ws.OpContinuation:
		if r.msg == nil || h.Rsv1() {
			return errWSProtocol
		}
	case op == ws.OpBinary || op == ws.OpText:
		if r.msg != nil || h.Rsv1() && !r.deflate {
			return errWSProtocol
		}
	default:
		return errWSProtocol
	}
	if h.Length > wsMaxWire {
		return errWSTooBig
	}
	return nil
}

// done ends the message a data frame completed, returning its buffer.
func (r *wsReader) done() { r.reset() }

// reset drops an open message (the connection ends or it completed).
func (r *wsReader) reset() {
	if r.msg != nil {
		wsWireBuffers.Put(r.msg.buf)
		r.msg = nil
	}
}

// isHeaderError reports whether ws.ReadHeader refused the header itself
// rather than failed to read it.
func isHeaderError(err error) bool {
	return errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected)
}

// checkClosePayload applies RFC 6455 section 5.5.1 to a close frame from
// the device: empty, or a valid code and a UTF-8 reason.
func checkClosePayload(p []byte) error {
	if len(p) == 0 {
		return errWSPeerClose
	}
	if len(p) == 1 {
		return errWSProtocol
	}
	code, reason := ws.ParseCloseFrameDataUnsafe(p)
	// Codes a peer may send: the ones RFC 6455 defines for the wire, the
	// later IANA ones (1012-1014), and the application and private ranges.
	if !(code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code.IsApplicationSpec() || code.IsPrivateSpec()) {
		return errWSProtocol
	}
	if !utf8.ValidString(reason) {
		return errWSBadUTF8
	}
	return errWSPeerClose
}
