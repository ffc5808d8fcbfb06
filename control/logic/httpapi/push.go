package httpapi

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"
)

// POST /goim/push/keys?operation=&keys=
func (a *api) pushKeys(ctx context.Context, c *app.RequestContext) {
	op, err := requiredInt32(c, "operation")
	if err != nil {
		writeError(c, err)
		return
	}
	keys, err := requiredList(c, "keys")
	if err != nil {
		writeError(c, err)
		return
	}
	msg, err := body(c, a.cfg.MaxBodyBytes)
	if err != nil {
		writeError(c, err)
		return
	}
	if _, err := a.l.EnqueueKeys(ctx, op, keys, msg); err != nil {
		writeError(c, err)
		return
	}
	writeOK(c)
}

// POST /goim/push/mids?operation=&mids=
func (a *api) pushMids(ctx context.Context, c *app.RequestContext) {
	op, err := requiredInt32(c, "operation")
	if err != nil {
		writeError(c, err)
		return
	}
	mids, err := requiredInt64List(c, "mids")
	if err != nil {
		writeError(c, err)
		return
	}
	msg, err := body(c, a.cfg.MaxBodyBytes)
	if err != nil {
		writeError(c, err)
		return
	}
	if _, err := a.l.EnqueueMids(ctx, op, mids, msg); err != nil {
		writeError(c, err)
		return
	}
	writeOK(c)
}

// POST /goim/push/room?operation=&type=&room=
func (a *api) pushRoom(ctx context.Context, c *app.RequestContext) {
	op, err := requiredInt32(c, "operation")
	if err != nil {
		writeError(c, err)
		return
	}
	typ, err := requiredString(c, "type")
	if err != nil {
		writeError(c, err)
		return
	}
	room, err := requiredString(c, "room")
	if err != nil {
		writeError(c, err)
		return
	}
	msg, err := body(c, a.cfg.MaxBodyBytes)
	if err != nil {
		writeError(c, err)
		return
	}
	if _, err := a.l.EnqueueRoom(ctx, op, typ, room, msg); err != nil {
		writeError(c, err)
		return
	}
	writeOK(c)
}

// POST /goim/push/all?operation=&speed=
func (a *api) pushAll(ctx context.Context, c *app.RequestContext) {
	op, err := requiredInt32(c, "operation")
	if err != nil {
		writeError(c, err)
		return
	}
	speed, err := optionalInt32(c, "speed")
	if err != nil {
		writeError(c, err)
		return
	}
	msg, err := body(c, a.cfg.MaxBodyBytes)
	if err != nil {
		writeError(c, err)
		return
	}
	if _, err := a.l.EnqueueAll(ctx, op, speed, msg); err != nil {
		writeError(c, err)
		return
	}
	writeOK(c)
}
