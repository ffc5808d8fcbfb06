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

// Range is what Since returns: Messages in offset order; Recovered tells
// whether they are all the messages after the caller's position (up to
// the limit); Pos is the stream's current position.
type Range struct {
	Messages  []Message
	Recovered bool
	Pos       Pos
}

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
	recovered := (epoch == "" || epoch == cur.Epoch) && offset <= cur.Offset && first <= offset+1
	r := Range{Recovered: recovered, Pos: cur}
	if recovered {
		i := 0
		for i < len(kept) && kept[i].Offset <= offset {
			i++
		}
		kept = kept[i:]
		if len(kept) > limit {
			kept = kept[:limit]
		}
	} else if len(kept) > limit {
		kept = kept[len(kept)-limit:]
	}
	r.Messages = append([]Message(nil), kept...)
	return r
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
