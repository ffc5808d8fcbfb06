package client

import "encoding/json"

// JSONToken is goim's default auth token (logic's `json` auth mode). Any
// other token (a JWT, an opaque string for a webhook) is passed to
// Options.Token as its bytes.
type JSONToken struct {
	Mid      int64    `json:"mid"`
	Key      string   `json:"key"`
	RoomID   string   `json:"room_id"`
	Rooms    []string `json:"rooms,omitempty"`
	Platform string   `json:"platform"`
	Accepts  []int32  `json:"accepts"`
}

// Bytes encodes the token; accepts is always an array, as goim's clients
// send it.
func (t JSONToken) Bytes() []byte {
	if t.Accepts == nil {
		t.Accepts = []int32{}
	}
	b, _ := json.Marshal(t) // only strings, ints and slices of them: cannot fail
	return b
}
