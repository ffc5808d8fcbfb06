package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/history"
	logicrpc "github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// historyOn keeps history for users and for rooms of type live.
func historyOn(c *logic.Config) {
	c.History.Users = history.Limits{Size: 10, TTL: time.Hour}
	c.History.Rooms = []history.RoomLimits{{Type: "live", Size: 3, TTL: time.Hour}}
	c.History.ReadLimit = 5
}

type pushData struct {
	Code int32  `json:"code"`
	Data pushed `json:"data"`
}

func decode[T any](t *testing.T, status int, body string) T {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

func pushPos(t *testing.T, a *apiHarness, path, body string) pushData {
	t.Helper()
	s, _, b := a.do(t, http.MethodPost, path, body)
	return decode[pushData](t, s, b)
}

// TestPushPositions: positions=1 answers the ids and the positions in the
// target streams; without it the answer is goim's 23 bytes, history on or
// off; the queued message carries the positions either way.
func TestPushPositions(t *testing.T) {
	a := newAPI(t, DefaultConfig(), nil, historyOn)
	a.route(t, 1, "k1", "edge-a")

	status, _, body := a.do(t, http.MethodPost, "/goim/push/room?operation=1000&type=live&room=1000", "one")
	if status != 200 || body != string(okEnvelope) {
		t.Fatalf("room push without positions=1 = %d %s, want goim's envelope", status, body)
	}
	first := a.take(t)[0].Positions
	if len(first) != 1 || first[0].Stream != "room:live://1000" || first[0].Offset != 1 {
		t.Fatalf("queued positions %+v", first)
	}
	d := pushPos(t, a, "/goim/push/room?operation=1000&type=live&room=1000&positions=1", "two")
	want := history.Pos{Stream: "room:live://1000", Epoch: first[0].Epoch, Offset: 2}
	if len(d.Data.MsgIDs) != 1 || len(d.Data.Positions) != 1 || d.Data.Positions[0] != want {
		t.Fatalf("room push with positions=1 = %+v, want position %+v", d, want)
	}
	if q := a.take(t)[0]; q.Id != d.Data.MsgIDs[0] || len(q.Positions) != 1 || q.Positions[0].Offset != 2 {
		t.Fatalf("queued %+v, want id %s at offset 2", q, d.Data.MsgIDs[0])
	}

	d = pushPos(t, a, "/goim/push/mids?operation=1000&mids=1,2&positions=1", "m")
	if len(d.Data.MsgIDs) != 1 || len(d.Data.Positions) != 2 || d.Data.Positions[0].Stream != "user:1" || d.Data.Positions[1].Stream != "user:2" || d.Data.Positions[1].Offset != 1 {
		t.Fatalf("mids push = %+v, want one queued message and user:1, user:2 at 1", d)
	}
	a.take(t)
	d = pushPos(t, a, "/goim/push/keys?operation=1000&keys=k1,nobody&positions=1", "k")
	if len(d.Data.Positions) != 1 || d.Data.Positions[0].Stream != "user:1" || d.Data.Positions[0].Offset != 2 {
		t.Fatalf("keys push = %+v, want user:1 at 2", d)
	}
	a.take(t)
	status, _, body = a.do(t, http.MethodPost, "/goim/push/room?operation=1000&type=chat&room=1&positions=1", "no history")
	if d := decode[pushData](t, status, body); len(d.Data.Positions) != 0 || len(d.Data.MsgIDs) != 1 {
		t.Fatalf("push to a room type without history = %s", body)
	}
	a.take(t)
	if status, _, body := a.do(t, http.MethodPost, "/goim/push/mids?operation=1000&mids=1", "x"); body != string(okEnvelope) {
		t.Fatalf("mids push without positions=1 = %d %s", status, body)
	}
}

// TestPushWithoutHistory: history off, positions=1 answers no positions.
func TestPushWithoutHistory(t *testing.T) {
	a := newAPI(t, DefaultConfig(), nil)
	status, _, body := a.do(t, http.MethodPost, "/goim/push/mids?operation=1000&mids=1&positions=1", "x")
	if status != 200 || body != `{"code":0,"message":"","data":{"msg_ids":[],"positions":[]}}` {
		t.Fatalf("= %d %s", status, body)
	}
	if status, _, _ := a.do(t, http.MethodGet, "/goim/history?stream=user:1", ""); status != http.StatusBadRequest {
		t.Fatalf("history with history off = %d, want 400", status)
	}
}

type historyResp struct {
	Code int32       `json:"code"`
	Data historyData `json:"data"`
}

func TestHistoryRoutes(t *testing.T) {
	a := newAPI(t, DefaultConfig(), nil, historyOn)
	for _, b := range []string{"a", "b", "c", "d", "e"} {
		if status, _, body := a.do(t, http.MethodPost, "/goim/push/room?operation=1000&type=live&room=1", b); status != 200 {
			t.Fatalf("push: %d %s", status, body)
		}
	}
	get := func(path string) historyResp {
		s, _, b := a.do(t, http.MethodGet, path, "")
		return decode[historyResp](t, s, b)
	}
	all := get("/goim/history?stream=room:live://1")
	ep := all.Data.Position.Epoch
	if all.Data.Recovered || len(all.Data.Messages) != 3 || all.Data.Messages[0].Offset != 3 || string(all.Data.Messages[2].Body) != "e" || all.Data.Position.Offset != 5 {
		t.Fatalf("history of a room keeping 3 = %+v, want c..e, not recovered", all)
	}
	r := get("/goim/history?stream=room:live://1&epoch=" + ep + "&offset=3")
	if !r.Data.Recovered || len(r.Data.Messages) != 2 || r.Data.Messages[0].Offset != 4 || r.Data.Messages[0].Op != 1000 || r.Data.Messages[0].ID == "" {
		t.Fatalf("history after 3 = %+v", r)
	}
	s, _, b := a.do(t, http.MethodGet, "/goim/history/position?stream=room:live://1", "")
	if p := decode[struct{ Data history.Pos }](t, s, b); p.Data != (history.Pos{Stream: "room:live://1", Epoch: ep, Offset: 5}) {
		t.Fatalf("position = %s", b)
	}
	for _, bad := range []string{
		"/goim/history", "/goim/history?stream=room:chat://1", "/goim/history?stream=bogus",
		"/goim/history?stream=user:1&offset=3", "/goim/history?stream=user:1&epoch=x&offset=-1",
		"/goim/history?stream=user:1&limit=x", "/goim/history/position?stream=user:0",
	} {
		if s, _, b := a.do(t, http.MethodGet, bad, ""); s != http.StatusBadRequest {
			t.Errorf("GET %s = %d %s, want 400", bad, s, b)
		}
	}
}

// TestHistoryLimitBounded: limit above read_limit gets read_limit.
func TestHistoryLimitBounded(t *testing.T) {
	a := newAPI(t, DefaultConfig(), nil, historyOn)
	for i := 0; i < 8; i++ {
		if s, _, b := a.do(t, http.MethodPost, "/goim/push/mids?operation=1000&mids=9", "x"); s != 200 {
			t.Fatalf("push: %d %s", s, b)
		}
	}
	s, _, b := a.do(t, http.MethodGet, "/goim/history?stream=user:9&limit=1000", "")
	if r := decode[historyResp](t, s, b); len(r.Data.Messages) != 5 || !r.Data.Recovered || r.Data.Messages[0].Offset != 1 {
		t.Fatalf("limit=1000 with read_limit 5 = %s", b)
	}
}

// TestHistoryPositionAcked: the position of a user stream also answers
// the user's acknowledged position once a device acked; before that, and
// for rooms, the answer is the position alone.
func TestHistoryPositionAcked(t *testing.T) {
	a := newAPI(t, DefaultConfig(), nil, historyOn)
	for i := 0; i < 3; i++ {
		if s, _, b := a.do(t, http.MethodPost, "/goim/push/mids?operation=1000&mids=7", "x"); s != 200 {
			t.Fatalf("push: %d %s", s, b)
		}
	}
	type posData struct {
		Data struct {
			history.Pos
			Acked *history.Pos `json:"acked"`
		} `json:"data"`
	}
	get := func(stream string) (posData, string) {
		s, _, b := a.do(t, http.MethodGet, "/goim/history/position?stream="+stream, "")
		return decode[posData](t, s, b), string(b)
	}
	before, raw := get("user:7")
	if before.Data.Offset != 3 || before.Data.Acked != nil || strings.Contains(raw, "acked") {
		t.Fatalf("position before any ack = %s, want offset 3 and no acked", raw)
	}
	ep := before.Data.Epoch
	resp, err := a.l.Ack(context.Background(), &logicrpc.AckReq{Mid: 7, Epoch: ep, Offset: 2})
	if err != nil || resp.Result_ != "advanced" {
		t.Fatalf("Ack = %+v, %v", resp, err)
	}
	cases := []struct {
		stream string
		acked  *history.Pos
	}{
		{"user:7", &history.Pos{Stream: "user:7", Epoch: ep, Offset: 2}},
		{"user:8", nil},
		{"room:live://1", nil},
	}
	for _, c := range cases {
		got, raw := get(c.stream)
		if (got.Data.Acked == nil) != (c.acked == nil) || (c.acked != nil && *got.Data.Acked != *c.acked) {
			t.Errorf("position of %s = %s, want acked %+v", c.stream, raw, c.acked)
		}
	}
}
