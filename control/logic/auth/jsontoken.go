package auth

import (
	"bytes"
	"context"
	"encoding/json"
)

// jsonToken is goim's auth body plus the multi-room extension.
type jsonToken struct {
	Mid      tokenMid `json:"mid"`
	Key      string   `json:"key"`
	RoomID   string   `json:"room_id"`
	Rooms    []string `json:"rooms"`
	Platform string   `json:"platform"`
	Accepts  []int32  `json:"accepts"`
}

// jsonAuth believes whatever goim JSON token the client sends.
type jsonAuth struct{}

func (jsonAuth) Authenticate(ctx context.Context, token []byte) (Identity, error) {
	return decodeJSONToken(token)
}

// decodeJSONToken parses goim's token: mid is a JSON integer or a string
// of decimal digits (tokenMid), accepts int32s, unknown fields are
// ignored; rooms are room_id ∪ rooms. Every failure wraps ErrRefused.
func decodeJSONToken(token []byte) (Identity, error) {
	token = bytes.TrimSpace(token)
	if len(token) == 0 || token[0] != '{' {
		return Identity{}, refusedf("json token: not a JSON object")
	}
	var t jsonToken
	if err := json.Unmarshal(token, &t); err != nil {
		return Identity{}, refusedf("json token: %v", err)
	}
	if err := checkKey(t.Key); err != nil {
		return Identity{}, refusedf("json token: %v", err)
	}
	rooms, err := roomSet([]string{t.RoomID}, t.Rooms)
	if err != nil {
		return Identity{}, refusedf("json token: %v", err)
	}
	return Identity{Mid: int64(t.Mid), Key: t.Key, Rooms: rooms, Accepts: t.Accepts, Platform: t.Platform}, nil
}
