package httpapi

import (
	"context"
	"strconv"

	"github.com/cloudwego/hertz/pkg/app"

	"github.com/goim-edge/goim-edge/control/logic/history"
)

// historyMsg is one message of GET /goim/history; body is base64 (JSON's
// encoding of bytes), as bodies are binary.
type historyMsg struct {
	Offset           int64  `json:"offset"`
	ID               string `json:"id"`
	Op               int32  `json:"op"`
	Body             []byte `json:"body"`
	EnqueuedUnixNano int64  `json:"enqueued_unix_nano"`
}

// historyData is the data of GET /goim/history.
type historyData struct {
	Messages  []historyMsg `json:"messages"`
	Recovered bool         `json:"recovered"`
	Position  history.Pos  `json:"position"`
}

// GET /goim/history?stream=&epoch=&offset=&limit=
func (a *api) history(ctx context.Context, c *app.RequestContext) {
	q := query{c: c}
	stream := param(&q, "stream", requiredString)
	offset := param(&q, "offset", optionalInt64)
	limit := param(&q, "limit", optionalInt32)
	if q.err != nil {
		writeError(c, q.err)
		return
	}
	r, err := a.l.StreamHistory(ctx, stream, string(c.QueryArgs().Peek("epoch")), offset, int(limit))
	if err != nil {
		writeError(c, err)
		return
	}
	d := historyData{Messages: make([]historyMsg, len(r.Messages)), Recovered: r.Recovered, Position: r.Pos}
	for i, m := range r.Messages {
		d.Messages[i] = historyMsg{Offset: m.Offset, ID: m.ID, Op: m.Op, Body: m.Body, EnqueuedUnixNano: m.EnqueuedUnixNano}
	}
	writeData(c, d)
}

// positionData is the data of GET /goim/history/position: the stream's
// position and, for a user stream whose devices acknowledged part of it
// in the current epoch, the acknowledged position (docs/recovery.md).
type positionData struct {
	history.Pos
	Acked *history.Pos `json:"acked,omitempty"`
}

// GET /goim/history/position?stream=
func (a *api) historyPosition(ctx context.Context, c *app.RequestContext) {
	stream, err := requiredString(c, "stream")
	if err != nil {
		writeError(c, err)
		return
	}
	pos, err := a.l.StreamPosition(ctx, stream)
	if err != nil {
		writeError(c, err)
		return
	}
	d := positionData{Pos: pos}
	acked, ok, err := a.l.StreamAcked(ctx, stream)
	if err != nil {
		writeError(c, err)
		return
	}
	if ok {
		d.Acked = &acked
	}
	writeData(c, d)
}

// optionalInt64 is a numeric query parameter that defaults to 0.
func optionalInt64(c *app.RequestContext, name string) (int64, error) {
	raw := c.QueryArgs().Peek(name)
	if len(raw) == 0 {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, badf("%s %q is not a 64-bit integer", name, raw)
	}
	return n, nil
}
