package client

import (
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// Message is one pushed frame.
type Message struct {
	// Op is the operation (business ops are 1000 and up).
	Op int32
	// Body is the payload; the client does not reuse it.
	Body []byte
	// Ver and Seq are the frame's header fields (server pushes: 1 and 0).
	Ver int16
	Seq int32
	// Batched is true for a message that arrived inside an op-9 batch
	// (room pushes).
	Batched bool
	// Addr is the address of the connection it arrived on.
	Addr string

	// Stream, Epoch and Offset are the message's position for a
	// positioned push (op 28, with Options.Recovery); Op and Body are
	// then the push's own. Zero for plain pushes.
	Stream string
	Epoch  string
	Offset int64
}

// State is the client's connection state.
type State int

// States, in the order a client goes through them.
const (
	// Connecting: dialling for the first time (Dial has not returned).
	Connecting State = iota
	// Connected: authenticated; pushes flow.
	Connected
	// Disconnected: the connection ended (Event.Err says why).
	Disconnected
	// Reconnecting: waiting Event.Delay before the next attempt
	// (Event.Attempt counts from 1; Event.Err is the last failure).
	Reconnecting
	// Stopped: the client ended for good (Close, or ErrAuthRefused).
	Stopped
	// Resumed is an event, not a lasting state (Client.State stays
	// Connected): the server's verdicts on a resume (op 27,
	// Event.Verdicts), after the recovered messages of those streams and
	// before their live ones.
	Resumed
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Reconnecting:
		return "reconnecting"
	case Stopped:
		return "stopped"
	case Resumed:
		return "resumed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Event is a state change, for UIs and logs.
type Event struct {
	State State
	// Time is when it happened.
	Time time.Time
	// Addr is the address connected to (Connected) or lost (Disconnected).
	Addr string
	// Err is why the connection ended or the last attempt failed.
	Err error
	// Attempt is the number of the next attempt (Reconnecting).
	Attempt int
	// Delay is the wait before it (Reconnecting).
	Delay time.Duration
	// Verdicts are the streams' outcomes (Resumed): Recovered false with
	// a Reason (protocol.ReasonGap, ...) means messages were missed.
	Verdicts []protocol.StreamVerdict
}

// item is what the dispatcher delivers: a message or an event.
type item struct {
	msg *Message
	ev  *Event
}
