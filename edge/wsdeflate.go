package edge

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
	kflate "github.com/klauspost/compress/flate"

	"github.com/goim-edge/goim-edge/protocol"
)

// permessage-deflate (RFC 7692) on the netpoll WebSocket transport.
//
// The edge accepts it only without context takeover in both directions:
// every message is compressed and decompressed on its own, so a
// connection keeps no 32 KiB window between messages (the LZ77 window is
// what makes context takeover cost memory per connection), and the
// compressor and decompressor are taken from pools for one message at a
// time. Server messages shorter than WSCompressMin go out
// uncompressed (RSV1 clear), which the extension allows per message.

// wsDeflateResponse is the extension the edge answers an acceptable
// offer with.
var wsDeflateResponse = wsflate.Parameters{ServerNoContextTakeover: true, ClientNoContextTakeover: true}.Option()

// wsNegotiator accepts the first acceptable permessage-deflate offer of
// one upgrade request. An offer is declined (the connection goes on
// uncompressed) when it is malformed or asks for a server window smaller
// than compress/flate's 32 KiB.
type wsNegotiator struct{ accepted bool }

func (n *wsNegotiator) negotiate(opt httphead.Option) (httphead.Option, error) {
	if n.accepted || !bytes.Equal(opt.Name, wsflate.ExtensionNameBytes) {
		return httphead.Option{}, nil
	}
	var p wsflate.Parameters
	if err := p.Parse(opt); err != nil {
		return httphead.Option{}, nil
	}
	if p.ServerMaxWindowBits.Defined() && p.ServerMaxWindowBits < 15 {
		return httphead.Option{}, nil
	}
	n.accepted = true
	return wsDeflateResponse, nil
}

// wsDeflateTail is what a compressor's sync flush ends with; RFC 7692
// drops it from the wire and the receiver adds it back.
var wsDeflateTail = []byte{0, 0, 0xff, 0xff}

// appendWriter collects a compressor's output in a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// wsCompressor is a pooled compressor and the buffer it writes to.
type wsCompressor struct {
	w   *kflate.Writer
	out appendWriter
}

// flateWriters hold compressors between messages. klauspost/compress's
// level 5 compresses a typical 300-byte JSON push as well as
// compress/flate's best speed in two thirds of the time (its level 1
// stores messages that short; its stateless mode compresses them
// worse): see BenchmarkWSDeflate and docs/websocket.md.
var flateWriters = sync.Pool{New: func() any {
	c := &wsCompressor{}
	c.w, _ = kflate.NewWriter(&c.out, 5)
	return c
}}

// wsDeflate returns msg compressed as one permessage-deflate message, in
// a new slice.
func wsDeflate(msg []byte) []byte {
	c := flateWriters.Get().(*wsCompressor)
	c.out.b = make([]byte, 0, len(msg)/2+16)
	c.w.Reset(&c.out)
	_, _ = c.w.Write(msg)
	_ = c.w.Flush()
	z := c.out.b
	c.out.b = nil // the pool keeps no message
	flateWriters.Put(c)
	return bytes.TrimSuffix(z, wsDeflateTail)
}

// A room batch or broadcast goes to every member as the same slice, so
// it is compressed once for all of them, not once per delivery: room
// fan-out at 5,000 members would otherwise spend most of its CPU
// compressing one message 5,000 times. wsDeflated remembers the compressed
// form of the last messages seen, in a small direct-mapped table keyed by
// the slice's address; a hit is confirmed by comparing the bytes (a
// memcmp, far cheaper than deflate), so a reused buffer cannot get
// another message's compressed form. An entry keeps its message
// reachable until it is replaced, which bounds what the table holds to
// wsDeflateSlots messages (room batches are at most room_batch_bytes).
const wsDeflateSlots = 64

type wsDeflateEntry struct{ plain, z []byte }

var wsDeflateTable [wsDeflateSlots]atomic.Pointer[wsDeflateEntry]

// wsDeflated returns msg compressed; the result is shared and must not be
// modified.
func wsDeflated(msg []byte) []byte {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(msg)))
	slot := &wsDeflateTable[(p>>4^p>>12^uintptr(len(msg)))%wsDeflateSlots]
	if e := slot.Load(); e != nil && unsafe.SliceData(e.plain) == unsafe.SliceData(msg) && bytes.Equal(e.plain, msg) {
		return e.z
	}
	z := wsDeflate(msg)
	slot.Store(&wsDeflateEntry{plain: msg, z: z})
	return z
}

// flateReaders hold decompressors between messages.
var flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// wsInflate decompresses a permessage-deflate message into dst (which
// holds the largest message a device may send) and returns its length;
// errWSTooBig when it inflates past dst, errWSProtocol when it is not
// deflate data.
func wsInflate(dst, msg []byte) (int, error) {
	src := io.MultiReader(bytes.NewReader(msg), bytes.NewReader(wsDeflateTail))
	fr := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(fr)
	if err := fr.(flate.Resetter).Reset(src, nil); err != nil {
		return 0, errWSProtocol
	}
	n, err := io.ReadFull(fr, dst)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		// The sync flush marker ends the data without a final block, so
		// the reader runs out of input: the message is whole.
		return n, nil
	case err != nil:
		return n, errWSProtocol
	}
	// dst is full: only the end of the stream may follow.
	var one [1]byte
	if m, _ := fr.Read(one[:]); m > 0 {
		return n, errWSTooBig
	}
	return n, nil
}

// wsInflateBuffers hold decompressed messages while they are handled.
var wsInflateBuffers = sync.Pool{New: func() any {
	b := make([]byte, protocol.MaxPackSize)
	return &b
}}
