package logic

import (
	"context"
	"errors"
	"fmt"

	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
)

// StreamHistory returns up to limit messages of stream after (epoch,
// offset) (history.Store.Since). limit 0 asks for Config.History's
// read_limit, and more than it gets that many. A stream whose target keeps
// no history, a malformed name or position is the caller's mistake (-400).
func (l *Logic) StreamHistory(ctx context.Context, stream, epoch string, offset int64, limit int) (history.Range, error) {
	if err := l.checkStream(stream); err != nil {
		return history.Range{}, err
	}
	if limit < 0 {
		return history.Range{}, invalidf("limit %d must not be negative", limit)
	}
	if limit == 0 || limit > l.cfg.History.ReadLimit {
		limit = l.cfg.History.ReadLimit
	}
	if offset < 0 || (epoch == "" && offset != 0) {
		return history.Range{}, invalidf("offset %d needs the epoch it counts in and must not be negative", offset)
	}
	cctx, cancel := l.callCtx(ctx)
	r, err := l.history.Since(cctx, stream, epoch, offset, limit)
	cancel()
	if err != nil {
		history.ReadsTotal.WithLabelValues("error").Inc()
		return history.Range{}, l.historyErr("read", stream, err)
	}
	if r.Recovered {
		history.ReadsTotal.WithLabelValues("recovered").Inc()
	} else {
		history.ReadsTotal.WithLabelValues("not_recovered").Inc()
	}
	return r, nil
}

// StreamPosition is stream's current position.
func (l *Logic) StreamPosition(ctx context.Context, stream string) (history.Pos, error) {
	if err := l.checkStream(stream); err != nil {
		return history.Pos{}, err
	}
	cctx, cancel := l.callCtx(ctx)
	pos, err := l.history.Position(cctx, stream)
	cancel()
	if err != nil {
		return history.Pos{}, l.historyErr("position of", stream, err)
	}
	return pos, nil
}

// StreamAcked is the acknowledged position of a user stream in its
// current epoch (docs/recovery.md), so an operator or a pusher can see
// how far a user's devices got; false when none is kept, and always for
// room streams, whose acks are not kept (a room has many readers).
func (l *Logic) StreamAcked(ctx context.Context, stream string) (history.Pos, bool, error) {
	if err := l.checkStream(stream); err != nil {
		return history.Pos{}, false, err
	}
	if name, _ := history.ParseStream(stream); name.Room != "" {
		return history.Pos{}, false, nil
	}
	cctx, cancel := l.callCtx(ctx)
	pos, ok, err := l.history.Acked(cctx, stream)
	cancel()
	if err != nil {
		return history.Pos{}, false, l.historyErr("acked position of", stream, err)
	}
	return pos, ok, nil
}

// checkStream refuses a malformed stream name and one whose target keeps
// no history.
func (l *Logic) checkStream(stream string) error {
	name, err := history.ParseStream(stream)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	on := l.cfg.History.Users.On()
	if name.Room != "" {
		on = l.cfg.History.Room(name.Type).On()
	}
	if !on || l.history == nil {
		return invalidf("stream %.64q keeps no history (logic.history)", stream)
	}
	return nil
}

func (l *Logic) historyErr(what, stream string, err error) error {
	if errors.Is(err, history.ErrInvalid) {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return fmt.Errorf("logic: history: %s %s: %w", what, stream, err)
}

// History implements push.Push.
func (l *Logic) History(ctx context.Context, req *push.HistoryReq) (*push.HistoryResp, error) {
	r, err := l.StreamHistory(ctx, req.GetStream(), req.GetEpoch(), req.GetOffset(), int(req.GetLimit()))
	if err != nil {
		return nil, pushError(err)
	}
	resp := &push.HistoryResp{Messages: make([]*push.HistoryMsg, len(r.Messages)), Recovered: r.Recovered, Position: streamPos(r.Pos)}
	for i, m := range r.Messages {
		resp.Messages[i] = &push.HistoryMsg{Offset: m.Offset, Id: m.ID, Op: m.Op, Body: m.Body, EnqueuedUnixNano: m.EnqueuedUnixNano}
	}
	return resp, nil
}

// Position implements push.Push.
func (l *Logic) Position(ctx context.Context, req *push.PositionReq) (*push.PositionResp, error) {
	pos, err := l.StreamPosition(ctx, req.GetStream())
	if err != nil {
		return nil, pushError(err)
	}
	resp := &push.PositionResp{Position: streamPos(pos)}
	acked, ok, err := l.StreamAcked(ctx, req.GetStream())
	if err != nil {
		return nil, pushError(err)
	}
	if ok {
		resp.Acked = streamPos(acked)
	}
	return resp, nil
}

func streamPos(p history.Pos) *common.StreamPos {
	return &common.StreamPos{Stream: p.Stream, Epoch: p.Epoch, Offset: p.Offset}
}
