package rpcauth

import (
	"context"
	"fmt"

	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/pkg/remote/codec"
)

// Reasons a message is refused by size, the reason label of
// goim_rpc_payload_refused_total.
const (
	// ReasonTooLarge: the message's header announces more than the limit.
	ReasonTooLarge = "too_large"
	// ReasonUnframed: the message has no length (Thrift buffered, Kitex's
	// PurePayload), so its size is only known once it has been read.
	ReasonUnframed = "unframed"
)

// PayloadError is a message refused by size. The server closes the
// caller's connection after it (the unread body cannot be skipped
// safely) and sends no reply, since the method the message names has not
// been read: the caller sees its connection closed.
type PayloadError struct {
	// Size is the announced length (0 when unframed); Limit the server's.
	Size, Limit int
	// Reason is ReasonTooLarge or ReasonUnframed.
	Reason string
}

func (e *PayloadError) Error() string {
	if e.Reason == ReasonUnframed {
		return "rpcauth: unframed message refused: use the TTHeader or Framed transport"
	}
	return fmt.Sprintf("rpcauth: message of %d bytes refused: larger than rpc.max_payload_bytes (%d)", e.Size, e.Limit)
}

// limitCodec is Kitex's default codec with a size check between the
// header and the body: the body of a refused message is never read.
// Kitex's own size limit skips messages without a length, so the check
// is done here, on the length the header announced.
type limitCodec struct {
	inner  remote.Codec
	meta   remote.MetaDecoder
	limit  int
	server string
}

var (
	_ remote.Codec       = (*limitCodec)(nil)
	_ remote.MetaDecoder = (*limitCodec)(nil)
)

func newLimitCodec(limit int, server string) *limitCodec {
	inner := codec.NewDefaultCodec()
	return &limitCodec{inner: inner, meta: inner.(remote.MetaDecoder), limit: limit, server: server}
}

// Encode writes replies as the default codec does.
func (c *limitCodec) Encode(ctx context.Context, msg remote.Message, out remote.ByteBuffer) error {
	return c.inner.Encode(ctx, msg, out)
}

// Decode reads a message: header, size check, body.
func (c *limitCodec) Decode(ctx context.Context, msg remote.Message, in remote.ByteBuffer) error {
	if err := c.DecodeMeta(ctx, msg, in); err != nil {
		return err
	}
	return c.DecodePayload(ctx, msg, in)
}

// DecodeMeta reads the header and refuses a message whose announced
// length is above the limit, or which announces none.
func (c *limitCodec) DecodeMeta(ctx context.Context, msg remote.Message, in remote.ByteBuffer) error {
	if err := c.meta.DecodeMeta(ctx, msg, in); err != nil {
		return err
	}
	n := msg.PayloadLen()
	switch {
	case n <= 0:
		payloadRefusedTotal.WithLabelValues(c.server, ReasonUnframed).Inc()
		return &PayloadError{Limit: c.limit, Reason: ReasonUnframed}
	case n > c.limit:
		payloadRefusedTotal.WithLabelValues(c.server, ReasonTooLarge).Inc()
		return &PayloadError{Size: n, Limit: c.limit, Reason: ReasonTooLarge}
	}
	return nil
}

// DecodePayload reads the body as the default codec does.
func (c *limitCodec) DecodePayload(ctx context.Context, msg remote.Message, in remote.ByteBuffer) error {
	return c.meta.DecodePayload(ctx, msg, in)
}

// Name is the default codec's name: nothing but the limit differs.
func (c *limitCodec) Name() string { return c.inner.Name() }
