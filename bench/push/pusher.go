// Package push sends the bench's messages to a goim-compatible server, over
// goim's HTTP push API or goim-edge's Kitex Push service, at a set rate.
package push

import (
	"context"
	"fmt"
	"strings"
)

// Kinds of push, as goim's HTTP routes name them.
const (
	Keys = "keys"
	Mids = "mids"
	Room = "room"
	All  = "all"
)

// Target is where one push goes.
type Target struct {
	Kind string
	Op   int32
	Keys []string
	Mids []int64
	// Room is a full room id, "type://id" (goim's HTTP API takes the two
	// halves as type= and room=).
	Room string
	// Speed is the broadcast rate in connections per second (0: no limit).
	Speed int32
}

// Pusher sends one push and reports whether the server accepted it.
type Pusher interface {
	Push(ctx context.Context, t Target, body []byte) error
	Close() error
}

// SplitRoom splits "type://id" into its halves.
func SplitRoom(room string) (typ, id string, err error) {
	typ, id, ok := strings.Cut(room, "://")
	if !ok || typ == "" {
		return "", "", fmt.Errorf("push: room %q is not type://id", room)
	}
	return typ, id, nil
}
