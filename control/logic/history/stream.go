package history

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goim-edge/goim-edge/protocol"
)

// Stream name prefixes. A user's stream is "user:<mid>" (every device of
// the user shares it; pushes by key join the stream of the key's mid); a
// room's is "room:<type>://<id>", goim's room id behind "room:".
// Devices see the same names (protocol's recovery extension).
const (
	UserPrefix = protocol.UserStreamPrefix
	RoomPrefix = protocol.RoomStreamPrefix
)

// UserStream names the stream of user mid.
func UserStream(mid int64) string { return protocol.UserStream(mid) }

// RoomStream names the stream of room id ("type://id").
func RoomStream(roomID string) string { return protocol.RoomStream(roomID) }

// Name is a parsed stream name.
type Name struct {
	// Mid is the user of a user stream (Room is then "").
	Mid int64
	// Room is the room id "type://id" of a room stream and Type its type.
	Room, Type string
}

// ParseStream checks a stream name and splits it. Mid 0 (goim's
// anonymous user, shared by unrelated devices) has no stream.
func ParseStream(s string) (Name, error) {
	switch {
	case strings.HasPrefix(s, UserPrefix):
		v := s[len(UserPrefix):]
		mid, err := strconv.ParseInt(v, 10, 64)
		if err != nil || mid == 0 || strconv.FormatInt(mid, 10) != v {
			return Name{}, fmt.Errorf("%w: stream %.64q: want user:<non-zero mid>", ErrInvalid, s)
		}
		return Name{Mid: mid}, nil
	case strings.HasPrefix(s, RoomPrefix):
		id := s[len(RoomPrefix):]
		typ, room, ok := strings.Cut(id, "://")
		if !ok || typ == "" || room == "" || len(id) > protocol.MaxRoomID {
			return Name{}, fmt.Errorf("%w: stream %.64q: want room:<type>://<id> of at most %d bytes", ErrInvalid, s, protocol.MaxRoomID)
		}
		return Name{Room: id, Type: typ}, nil
	}
	return Name{}, fmt.Errorf("%w: stream %.64q: want user:<mid> or room:<type>://<id>", ErrInvalid, s)
}
