package httpapi

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"

	"github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/history"
)

// The four push handlers differ only in their target parameters and the
// Enqueue call; push does the rest the same way for all of them.

// POST /goim/push/keys?operation=&keys=
func (a *api) pushKeys(ctx context.Context, c *app.RequestContext) {
	q := query{c: c}
	op := param(&q, "operation", requiredInt32)
	keys := param(&q, "keys", requiredList)
	a.push(c, &q, func(msg []byte) (logic.Enqueued, error) {
		return a.l.EnqueueKeysAt(ctx, op, keys, msg)
	})
}

// POST /goim/push/mids?operation=&mids=
func (a *api) pushMids(ctx context.Context, c *app.RequestContext) {
	q := query{c: c}
	op := param(&q, "operation", requiredInt32)
	mids := param(&q, "mids", requiredInt64List)
	a.push(c, &q, func(msg []byte) (logic.Enqueued, error) {
		return a.l.EnqueueMidsAt(ctx, op, mids, msg)
	})
}

// POST /goim/push/room?operation=&type=&room=
func (a *api) pushRoom(ctx context.Context, c *app.RequestContext) {
	q := query{c: c}
	op := param(&q, "operation", requiredInt32)
	typ := param(&q, "type", requiredString)
	room := param(&q, "room", requiredString)
	a.push(c, &q, func(msg []byte) (logic.Enqueued, error) {
		return a.l.EnqueueRoomAt(ctx, op, typ, room, msg)
	})
}

// POST /goim/push/all?operation=&speed=
func (a *api) pushAll(ctx context.Context, c *app.RequestContext) {
	q := query{c: c}
	op := param(&q, "operation", requiredInt32)
	speed := param(&q, "speed", optionalInt32)
	a.push(c, &q, func(msg []byte) (logic.Enqueued, error) {
		ids, err := a.l.EnqueueAll(ctx, op, speed, msg)
		return logic.Enqueued{IDs: ids}, err
	})
}

// push answers a push request whose parameters q has read: the first bad
// parameter, then a bad body, then the enqueue error is the answer (the
// order goim checks them in); goim's plain OK otherwise. A request with
// positions=1 (an extension, docs/history.md) gets the message ids and
// the positions in the target streams as data instead.
func (a *api) push(c *app.RequestContext, q *query, enqueue func(msg []byte) (logic.Enqueued, error)) {
	withPos := string(c.QueryArgs().Peek("positions")) == "1"
	if q.err != nil {
		writeError(c, q.err)
		return
	}
	msg, err := body(c, a.maxBody)
	var e logic.Enqueued
	if err == nil {
		e, err = enqueue(msg)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	if !withPos {
		writeOK(c)
		return
	}
	writeData(c, pushed{MsgIDs: nonNil(e.IDs), Positions: nonNil(e.Positions)})
}

// pushed is the data of a push asked with positions=1.
type pushed struct {
	MsgIDs    []string      `json:"msg_ids"`
	Positions []history.Pos `json:"positions"`
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
