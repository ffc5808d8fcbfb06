package device

import (
	"encoding/json"
	"fmt"
)

// Token is goim's default auth token, sent as the JSON body of op 7.
type Token struct {
	Mid      int64   `json:"mid"`
	Key      string  `json:"key"`
	RoomID   string  `json:"room_id"`
	Platform string  `json:"platform"`
	Accepts  []int32 `json:"accepts"`
}

// Marshal encodes the token; accepts is always an array, never null, as
// goim's clients send it.
func (t Token) Marshal() ([]byte, error) {
	if t.Accepts == nil {
		t.Accepts = []int32{}
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("device: token: %w", err)
	}
	return b, nil
}
