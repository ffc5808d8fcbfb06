package logic

import (
	"context"
	"fmt"

	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

// Enqueued is what a push became: the ids of its queue messages and, for
// each target stream with history on, the message's position in it (none
// when history is off for every target).
type Enqueued struct {
	IDs       []string
	Positions []history.Pos
}

// userTargets are the streams of mids when user history is on; mid 0,
// goim's anonymous user shared by unrelated devices, has none.
func (l *Logic) userTargets(mids []int64) []history.Target {
	lim := l.cfg.History.Users
	if !lim.On() {
		return nil
	}
	out := make([]history.Target, 0, len(mids))
	for _, mid := range mids {
		if mid != 0 {
			out = append(out, history.Target{Stream: history.UserStream(mid), Limits: lim})
		}
	}
	return out
}

// keyTargets are the streams of the users of keys when user history is
// on: one store lookup, made only then.
func (l *Logic) keyTargets(ctx context.Context, keys []string) ([]history.Target, error) {
	if !l.cfg.History.Users.On() {
		return nil, nil
	}
	cctx, cancel := l.callCtx(ctx)
	byKey, err := l.store.MidsByKeys(cctx, keys)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("logic: look up the users of keys: %w", err)
	}
	mids := make([]int64, 0, len(byKey))
	for _, k := range keys { // in request order, so positions are too
		if mid, ok := byKey[k]; ok {
			mids = append(mids, mid)
		}
	}
	return l.userTargets(uniqueMids(mids)), nil
}

// roomTargets is the stream of room id when rooms of typ keep history.
func (l *Logic) roomTargets(typ, id string) []history.Target {
	lim := l.cfg.History.Room(typ)
	if !lim.On() {
		return nil
	}
	return []history.Target{{Stream: history.RoomStream(id), Limits: lim}}
}

// appendHistory appends msg to the targets' streams and sets its
// positions; no targets (history off) is no store call.
func (l *Logic) appendHistory(ctx context.Context, targets []history.Target, msg *common.PushMsg) ([]history.Pos, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	cctx, cancel := l.callCtx(ctx)
	pos, err := l.history.Append(cctx, targets, history.Message{ID: msg.Id, Op: msg.Op, Body: msg.Body, EnqueuedUnixNano: msg.EnqueuedUnixNano})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("logic: append push %s to %d history streams: %w", msg.Id, len(targets), err)
	}
	history.AppendsTotal.WithLabelValues(history.Kind(targets[0].Stream)).Add(float64(len(targets)))
	msg.Positions = streamPositions(pos)
	return pos, nil
}

// streamPositions is pos as the queue message's field.
func streamPositions(pos []history.Pos) []*common.StreamPos {
	if len(pos) == 0 {
		return nil
	}
	out := make([]*common.StreamPos, len(pos))
	for i, p := range pos {
		out[i] = &common.StreamPos{Stream: p.Stream, Epoch: p.Epoch, Offset: p.Offset}
	}
	return out
}
