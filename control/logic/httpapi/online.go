package httpapi

import (
	"context"
	"strconv"

	"github.com/cloudwego/hertz/pkg/app"
)

// topRoom is one entry of /goim/online/top, as goim encodes it.
type topRoom struct {
	RoomID string `json:"room_id"`
	Count  int64  `json:"count"`
}

// GET /goim/online/top?type=&limit=
func (a *api) onlineTop(ctx context.Context, c *app.RequestContext) {
	typ, err := requiredString(c, "type")
	if err != nil {
		writeError(c, err)
		return
	}
	raw := c.QueryArgs().Peek("limit")
	if len(raw) == 0 {
		writeError(c, badf("limit is required"))
		return
	}
	limit, err := strconv.Atoi(string(raw))
	if err != nil {
		writeError(c, badf("limit %q is not an integer", raw))
		return
	}
	top, err := a.l.TopRooms(ctx, typ, limit)
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]topRoom, len(top)) // [] when none, as goim
	for i, r := range top {
		out[i] = topRoom{RoomID: r.RoomID, Count: r.Count}
	}
	writeData(c, out)
}

// GET /goim/online/room?type=&rooms=
func (a *api) onlineRoom(ctx context.Context, c *app.RequestContext) {
	typ, err := requiredString(c, "type")
	if err != nil {
		writeError(c, err)
		return
	}
	rooms, err := requiredList(c, "rooms")
	if err != nil {
		writeError(c, err)
		return
	}
	counts, err := a.l.RoomOnline(ctx, typ, rooms)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, counts)
}

// GET /goim/online/total. goim answers with a Go map, which encodes with
// sorted keys; so does this.
func (a *api) onlineTotal(ctx context.Context, c *app.RequestContext) {
	t, err := a.l.TotalOnline(ctx)
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, map[string]int64{"ip_count": t.IPs, "conn_count": t.Conns})
}
