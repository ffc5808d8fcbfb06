// Package history keeps the recent messages of each push target, users and
// rooms, in streams with positions, so a device that missed messages can
// tell exactly what it missed and fetch it (docs/history.md).
//
// Every message appended to a stream gets a position (epoch, offset): the
// offset counts messages from 1 and grows by exactly one per message; the
// epoch is a random string chosen when the stream is created and changed
// whenever the stream's history is lost (a Redis restarted empty or
// flushed, a stream that expired after ttl without messages, a memory
// store of a restarted process). Guarantees of every Store:
//   - Append assigns offsets atomically per stream: two logic instances
//     appending at once to one stream get distinct, consecutive offsets
//     (the Redis store assigns and stores in one Lua script);
//   - within one epoch an offset never names two different messages, and
//     a superseded epoch never comes back (epochs are 64 random bits);
//   - a stream keeps at most its Limits.Size newest messages, none older
//     than Limits.TTL, and Since never returns one beyond those bounds;
//   - Since reports Recovered only when it can return every message after
//     the caller's position (within limit, in order): same epoch and no
//     message after the position dropped.
//   - Tail is Since returning the newest messages when more than limit
//     follow the position, and says so (Range.Cut) apart from lost ones;
//   - a stream's acknowledged position (Ack, Acked) only moves forward,
//     only within the current epoch and never beyond the last offset, and
//     it goes with the stream (same ttl, none in a new epoch).
//
// A target whose history is off (Config) has no stream and costs nothing:
// logic makes no store call for it.
package history

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Pos is a place in a stream: the offset of its last message in epoch.
// A stream with no history yet (or lost, and not written since) is at
// epoch "" offset 0.
type Pos struct {
	Stream string `json:"stream"`
	Epoch  string `json:"epoch"`
	Offset int64  `json:"offset"`
}

// Message is one kept message. Offset is assigned by Append.
type Message struct {
	Offset           int64
	ID               string
	Op               int32
	Body             []byte
	EnqueuedUnixNano int64
}

// Target is a stream to append to and the bounds it is kept within.
type Target struct {
	Stream string
	Limits Limits
}

// Range is what Since and Tail return: Messages in offset order;
// Recovered tells whether they are all the messages after the caller's
// position (up to the limit); Pos is the stream's current position.
type Range struct {
	Messages  []Message
	Recovered bool
	// Cut is set by Tail when more messages follow the caller's position
	// than the limit: Messages are then the newest limit of them, and the
	// older ones were left out (Recovered stays true: none was lost). A
	// recovering device must be told (reason "limit").
	Cut bool
	Pos Pos
}

// AckResult is what Store.Ack did with an acknowledgement; the values are
// the result labels of the acks metric and of Logic.Ack's answer.
type AckResult string

// The outcomes of Store.Ack.
const (
	// AckAdvanced: the acknowledged position moved forward.
	AckAdvanced AckResult = "advanced"
	// AckStale: the offset is not beyond the kept acknowledged position
	// (another device of the user acked further already).
	AckStale AckResult = "stale"
	// AckOtherEpoch: the epoch is not the stream's current one (its
	// history was lost since, or the stream has none); ignored.
	AckOtherEpoch AckResult = "other_epoch"
	// AckBeyond: the offset is beyond the stream's last message, so it
	// acknowledges something never sent; ignored.
	AckBeyond AckResult = "beyond"
)

// Store keeps streams. Every method is safe for concurrent use. Bad
// arguments give an error wrapping ErrInvalid; any other error is an
// outage of the backing service.
type Store interface {
	// Append adds m to every target's stream and returns its position in
	// each, in the order of targets. Each stream's append is atomic;
	// appends to several streams are not one transaction (a failure may
	// leave the message in some of them).
	Append(ctx context.Context, targets []Target, m Message) ([]Pos, error)
	// Since returns up to limit messages of stream after (epoch, offset).
	// When the messages after offset are not all kept, or epoch is not
	// the stream's (the history was lost), Recovered is false and the
	// newest limit messages kept are returned instead. Epoch "" with
	// offset 0 asks for everything since the stream began.
	Since(ctx context.Context, stream, epoch string, offset int64, limit int) (Range, error)
	// Tail is Since for a reader that wants the newest messages rather
	// than the oldest (a device resuming after a long absence): when more
	// than limit messages follow (epoch, offset), it returns the newest
	// limit of them with Range.Cut set. Otherwise it answers as Since.
	Tail(ctx context.Context, stream, epoch string, offset int64, limit int) (Range, error)
	// Ack records that stream was processed up to (epoch, offset): the
	// acknowledged position moves there when epoch is the stream's
	// current epoch and offset is beyond the kept one and not beyond the
	// stream's last message. It is kept as long as the stream (same ttl,
	// dropped with the epoch), so a user's unacknowledged messages reach
	// the next device of that user that resumes without a position.
	Ack(ctx context.Context, stream, epoch string, offset int64) (AckResult, error)
	// Acked is the stream's acknowledged position in its current epoch;
	// false when nothing was acknowledged in it.
	Acked(ctx context.Context, stream string) (Pos, bool, error)
	// Position is the stream's current position.
	Position(ctx context.Context, stream string) (Pos, error)
	// Close releases the store's resources.
	Close() error
}

// ErrInvalid marks a caller's mistake: a malformed stream name, a negative
// offset or a non-positive limit.
var ErrInvalid = errors.New("invalid history request")

// NewEpoch returns a fresh random epoch (64 bits, hex).
func NewEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Clock is the time source of a store; tests pass their own.
type Clock func() time.Time

// ResultOf picks the answer of Since from what a store holds: kept are
// the messages within the bounds in offset order, cur the position.
// Stores share it so the recovery rule is written once.
func ResultOf(kept []Message, cur Pos, epoch string, offset int64, limit int) Range {
	first := cur.Offset + 1
	if len(kept) > 0 {
		first = kept[0].Offset
	}
	return resultOf(kept, first, cur, epoch, offset, limit, false)
}

// TailOf is ResultOf for Tail: when more than limit messages follow the
// position, the newest limit of them, with Cut set. first is the oldest
// offset the stream keeps (cur.Offset+1 when it keeps none), as kept may
// already be only the newest part of what the stream holds.
func TailOf(kept []Message, first int64, cur Pos, epoch string, offset int64, limit int) Range {
	return resultOf(kept, first, cur, epoch, offset, limit, true)
}

func resultOf(kept []Message, first int64, cur Pos, epoch string, offset int64, limit int, tail bool) Range {
	recovered := (epoch == "" || epoch == cur.Epoch) && offset <= cur.Offset && first <= offset+1
	r := Range{Recovered: recovered, Pos: cur}
	if recovered {
		i := 0
		for i < len(kept) && kept[i].Offset <= offset {
			i++
		}
		kept = kept[i:]
		if len(kept) > limit {
			if tail {
				kept = kept[len(kept)-limit:]
			} else {
				kept = kept[:limit]
			}
		}
		// Offsets are consecutive, so a first message past offset+1 means
		// older ones were left out for the limit (here or by the store).
		r.Cut = len(kept) > 0 && kept[0].Offset > offset+1
	} else if len(kept) > limit {
		kept = kept[len(kept)-limit:]
	}
	r.Messages = append([]Message(nil), kept...)
	return r
}

// CheckAck refuses an Ack that no store can take: a cancelled ctx, a
// malformed stream, an empty epoch or a non-positive offset.
func CheckAck(ctx context.Context, stream, epoch string, offset int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := ParseStream(stream); err != nil {
		return err
	}
	if epoch == "" || offset <= 0 {
		return fmt.Errorf("%w: ack of %s at offset %d (epoch %q): want an epoch and a positive offset", ErrInvalid, stream, offset, epoch)
	}
	return nil
}

// CheckRead refuses a Since that no store can answer: a cancelled ctx, a
// malformed stream, a negative offset, a non-positive limit, or an offset
// without the epoch it counts in.
func CheckRead(ctx context.Context, stream, epoch string, offset int64, limit int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := ParseStream(stream); err != nil {
		return err
	}
	if offset < 0 || limit <= 0 || (epoch == "" && offset != 0) {
		return fmt.Errorf("%w: offset %d (epoch %q), limit %d", ErrInvalid, offset, epoch, limit)
	}
	return nil
}
