// Package queue carries pushes from logic to job. One interface, three
// implementations chosen by config: Redis Streams, Kafka and an in-process
// memory queue for standalone mode.
package queue

import (
	"context"
	"errors"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

// Producer is logic's side: it enqueues one push message.
type Producer interface {
	// Publish enqueues msg. It returns once the queue has accepted it.
	Publish(ctx context.Context, msg *common.PushMsg) error
	Close() error
}

// Delivery is one message handed to a consumer, with where it came from.
type Delivery struct {
	Msg *common.PushMsg
	// Queue names the queue it came from ("memory", "redis", "kafka").
	Queue string
	// ID is the queue's own id of the message (stream id, partition/offset).
	ID string
	// Attempt counts deliveries of this message, 1 for the first.
	Attempt int
}

// Handler processes one delivery. Returning nil acknowledges the message;
// an error leaves it for redelivery, and a message that keeps failing is
// moved aside as poison so it never blocks the stream. ErrPoison moves it
// aside at once.
type Handler func(ctx context.Context, d *Delivery) error

// ErrPoison marks a message that can never be handled (it does not decode,
// or names nothing deliverable); consumers count it and move it aside.
var ErrPoison = errors.New("queue: poison message")

// Consumer is job's side.
type Consumer interface {
	// Run delivers messages to h until ctx is done or the consumer is closed.
	Run(ctx context.Context, h Handler) error
	Close() error
}
