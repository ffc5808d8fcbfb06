package edge

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"

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

// flateWriters hold compressors between messages (about 600 KiB each at
// any level, hence one per writing goroutine rather than per connection).
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// appendWriter collects a compressor's output in a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// wsDeflate appends msg, compressed as one permessage-deflate message, to
// dst[:0].
func wsDeflate(dst, msg []byte) []byte {
	fw := flateWriters.Get().(*flate.Writer)
	out := appendWriter{b: dst[:0]}
	fw.Reset(&out)
	_, _ = fw.Write(msg)
	_ = fw.Flush()
	fw.Reset(nil) // do not keep out's buffer reachable from the pool
	flateWriters.Put(fw)
	return bytes.TrimSuffix(out.b, wsDeflateTail)
}

// wsDeflateBuffers lend compressed-message buffers to a write; they
// return once the write has flushed them to the socket.
var wsDeflateBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

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
