package protocol

// Batch builds an OpRaw body: whole push frames appended back to back. The
// same bytes are written to every member of a room, so a batch is encoded
// once per flush, not once per connection.
type Batch struct {
	buf   []byte
	count int
}

// NewBatch returns a batch whose buffer starts with room for an OpRaw header,
// so the WebSocket form (outer header + frames) needs no copy.
func NewBatch(capacity int) *Batch {
	b := &Batch{buf: make([]byte, HeaderLen, HeaderLen+capacity)}
	return b
}

// Add appends one server push {ver 1, op, seq 0, body}.
func (b *Batch) Add(op int32, body []byte) {
	b.buf = AppendFrame(b.buf, PushVer, op, 0, body)
	b.count++
}

// Size is the length of the whole OpRaw frame so far (header included):
// where the next frame added will start within Raw.
func (b *Batch) Size() int { return len(b.buf) }

// Len is the number of frames in the batch.
func (b *Batch) Len() int { return b.count }

// Frames is the concatenated inner frames: what goim writes on TCP.
func (b *Batch) Frames() []byte { return b.buf[HeaderLen:] }

// Raw is the whole OpRaw frame: outer {op 9, ver 1, seq 0} header followed by
// the inner frames, one WebSocket message as goim's JavaScript client expects.
func (b *Batch) Raw() []byte {
	AppendHeader(b.buf[:0], len(b.buf), PushVer, OpRaw, 0)
	return b.buf
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	b.buf = b.buf[:HeaderLen]
	b.count = 0
}

// SplitRaw calls fn for each inner frame of an OpRaw body, in order. It stops
// at the first malformed frame and returns its error; fn's frames alias body.
func SplitRaw(body []byte, fn func(Frame) error) error {
	for len(body) > 0 {
		f, n, err := Decode(body, len(body))
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		body = body[n:]
	}
	return nil
}
