package httpapi

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"
)

// The four push handlers differ only in their target parameters and the
// Enqueue call; push does the rest the same way for all of them.

// POST /goim/push/keys?operation=&keys=
func (a *api) pushKeys(ctx context.Context, c *app.RequestContext) {
	q := query{c: c}
	op := param(&q, "operation", requiredInt32)
	keys := param(&q, "keys", requiredList)
	a.push(c, &q, func(msg []byte) error {
		_, err := a.l.EnqueueKeys(ctx, op, keys, msg)
		return err
	})
}

// POST /goim/push/mids?operation=&mids=
func (a *api) pushMids(ctx context.Context, c *app.RequestContext) {
	q := query{c: c}
	op := param(&q, "operation", requiredInt32)
	mids := param(&q, "mids", requiredInt64List)
	a.push(c, &q, func(msg []byte) error {
		_, err := a.l.EnqueueMids(ctx, op, mids, msg)
		return err
	})
}

// POST /goim/push/room?operation=&type=&room=
func (a *api) pushRoom(ctx context.Context, c *app.RequestContext) {
	q := query{c: c}
	op := param(&q, "operation", requiredInt32)
	typ := param(&q, "type", requiredString)
	room := param(&q, "room", requiredString)
	a.push(c, &q, func(msg []byte) error {
		_, err := a.l.EnqueueRoom(ctx, op, typ, room, msg)
		return err
	})
}

// POST /goim/push/all?operation=&speed=
func (a *api) pushAll(ctx context.Context, c *app.RequestContext) {
	q := query{c: c}
	op := param(&q, "operation", requiredInt32)
	speed := param(&q, "speed", optionalInt32)
	a.push(c, &q, func(msg []byte) error {
		_, err := a.l.EnqueueAll(ctx, op, speed, msg)
		return err
	})
}

// push answers a push request whose parameters q has read: the first bad
// parameter, then a bad body, then the enqueue error is the answer (the
// order goim checks them in); goim's plain OK otherwise.
func (a *api) push(c *app.RequestContext, q *query, enqueue func(msg []byte) error) {
	if q.err != nil {
		writeError(c, q.err)
		return
	}
	msg, err := body(c, a.maxBody)
	if err == nil {
		err = enqueue(msg)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	writeOK(c)
}
