package logic

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	logicrpc "github.com/goim-edge/goim-edge/kitex_gen/logic"
	"github.com/goim-edge/goim-edge/protocol"
)

// MaxResumeStreams bounds the streams of one Resume. An edge sends at
// most max_rooms + 1 (the device's op-26 body is within the 4096-byte
// frame limit, a few hundred entries at most), so more is a caller bug,
// refused before any store read rather than served without bound.
const MaxResumeStreams = 512

// Ack results besides history.AckResult's: the acknowledgement was
// malformed, or the user keeps no history. The edge only counts them.
const (
	AckInvalid   = "invalid"
	AckNoHistory = "no_history"
)

// resultRecovered is the recoveries metric's label of a stream recovered
// in full; the other labels are the verdict reasons.
const resultRecovered = "recovered"

// Resume implements logic.Logic: for each stream of the request, in
// order, the messages a device missed after the position it holds, and
// its verdict (docs/recovery.md). Refusals are per stream, in the
// verdict: a malformed name or another user's stream is not_followed (the
// edge checks what the device follows; this is the defence behind it), a
// target without history no_history. A user stream asked without a
// position starts from the user's acknowledged position when there is one
// in the current epoch. At most recover_limit messages and
// recover_max_bytes bytes of bodies are delivered per stream, the newest
// that fit (reason limit when some were left out). An outage of the store
// fails the whole call, so the edge answers "unavailable" and the device
// may retry.
//
// Identical reads of concurrent resumes (a reconnect storm of one room)
// share one store call and one conversion; see coalescer for why that
// keeps the no-gap guarantee. So the Messages of answers (the StreamMsg
// values and their bodies) may be shared between concurrent answers and
// must not be modified by the caller; each answer's ResumedStream and
// Position are its own.
func (l *Logic) Resume(ctx context.Context, req *logicrpc.ResumeReq) (*logicrpc.ResumeResp, error) {
	if req == nil {
		return nil, invalidf("resume: no request")
	}
	if n := len(req.GetStreams()); n > MaxResumeStreams {
		return nil, invalidf("resume of %d streams: at most %d", n, MaxResumeStreams)
	}
	resp := &logicrpc.ResumeResp{Streams: make([]*logicrpc.ResumedStream, 0, len(req.GetStreams()))}
	recovered := 0
	for _, sp := range req.GetStreams() {
		rs, err := l.resumeStream(ctx, req.GetMid(), sp)
		if err != nil {
			history.RecoveriesTotal.WithLabelValues("error").Inc()
			return nil, fmt.Errorf("logic: resume of mid %d on %s: %w", req.GetMid(), req.GetServer(), err)
		}
		resp.Streams = append(resp.Streams, rs)
		recovered += len(rs.Messages)
	}
	for _, rs := range resp.Streams {
		result := rs.Reason
		if rs.Recovered {
			result = resultRecovered
		}
		history.RecoveriesTotal.WithLabelValues(result).Inc()
	}
	history.RecoveredMessagesTotal.Add(float64(recovered))
	return resp, nil
}

// resumeStream recovers one stream for a device of user mid.
func (l *Logic) resumeStream(ctx context.Context, mid int64, sp *common.StreamPos) (*logicrpc.ResumedStream, error) {
	if sp == nil { // not from a decoded request; an in-process caller's slip
		sp = &common.StreamPos{}
	}
	stream, epoch, offset := sp.Stream, sp.Epoch, sp.Offset
	refuse := func(reason string) *logicrpc.ResumedStream {
		// The device stays where it was.
		return &logicrpc.ResumedStream{Position: &common.StreamPos{Stream: stream, Epoch: epoch, Offset: offset}, Reason: reason}
	}
	name, err := history.ParseStream(stream)
	if err != nil || (name.Room == "" && name.Mid != mid) {
		return refuse(protocol.ReasonNotFollowed), nil
	}
	lim := l.cfg.History.Users
	if name.Room != "" {
		lim = l.cfg.History.Room(name.Type)
	}
	if !lim.On() || l.history == nil {
		return refuse(protocol.ReasonNoHistory), nil
	}
	if epoch == "" || offset < 0 {
		// No usable position: everything kept (an offset means nothing
		// without the epoch it counts in).
		epoch, offset = "", 0
	}
	if name.Room == "" && epoch == "" {
		cctx, cancel := l.callCtx(ctx)
		acked, ok, err := l.history.Acked(cctx, stream)
		cancel()
		if err != nil {
			return nil, l.historyErr("acked position of", stream, err)
		}
		if ok {
			epoch, offset = acked.Epoch, acked.Offset
		}
	}
	shared, err := l.resumeRead(ctx, stream, epoch, offset)
	if err != nil {
		return nil, l.historyErr("resume read of", stream, err)
	}
	rs := *shared // the messages stay shared: see Resume
	rs.Position = &common.StreamPos{Stream: shared.Position.Stream, Epoch: shared.Position.Epoch, Offset: shared.Position.Offset}
	return &rs, nil
}

// resumeRead is the verdict of stream after (epoch, offset): one store
// Tail and its conversion, shared by identical concurrent resumes.
func (l *Logic) resumeRead(ctx context.Context, stream, epoch string, offset int64) (*logicrpc.ResumedStream, error) {
	limit, maxBytes := l.cfg.History.RecoverLimit, l.cfg.History.RecoverMaxBytes
	return l.resumeReads.do(ctx, coalesceKey(stream, epoch, offset, limit), func() (*logicrpc.ResumedStream, error) {
		// The read serves every caller that joined it: no one caller's
		// cancellation may fail it for the others.
		cctx, cancel := l.callCtx(context.WithoutCancel(ctx))
		defer cancel()
		r, err := l.history.Tail(cctx, stream, epoch, offset, limit)
		if err != nil {
			return nil, err
		}
		return verdict(r, epoch, offset, maxBytes), nil
	})
}

// coalesceKey names a resume read: reads with the same key return the
// same range.
func coalesceKey(stream, epoch string, offset int64, limit int) string {
	return stream + "\x00" + epoch + "\x00" + strconv.FormatInt(offset, 10) + "\x00" + strconv.Itoa(limit)
}

// verdict turns a Tail after (epoch, offset) into the stream's answer:
// the newest messages whose bodies fit in maxBytes, and where the device
// then stands.
func verdict(r history.Range, epoch string, offset int64, maxBytes int) *logicrpc.ResumedStream {
	msgs := r.Messages
	start, size := len(msgs), 0
	for start > 0 && size+len(msgs[start-1].Body) <= maxBytes {
		start--
		size += len(msgs[start].Body)
	}
	msgs = msgs[start:]
	rs := &logicrpc.ResumedStream{Recovered: r.Recovered, Messages: make([]*common.StreamMsg, len(msgs))}
	switch {
	case !r.Recovered && epoch != "" && (epoch != r.Pos.Epoch || offset > r.Pos.Offset):
		// The device's position is not in this stream's history: it was
		// lost (or the device holds a position this store never gave).
		rs.Reason = protocol.ReasonEpoch
	case !r.Recovered:
		rs.Reason = protocol.ReasonGap
	case r.Cut || start > 0:
		rs.Recovered, rs.Reason = false, protocol.ReasonLimit
	}
	for i, m := range msgs {
		rs.Messages[i] = &common.StreamMsg{Offset: m.Offset, Id: m.ID, Op: m.Op, Body: m.Body, EnqueuedUnixNano: m.EnqueuedUnixNano}
	}
	rs.Position = &common.StreamPos{Stream: r.Pos.Stream, Epoch: r.Pos.Epoch, Offset: r.Pos.Offset}
	if len(msgs) > 0 {
		rs.Position.Offset = msgs[len(msgs)-1].Offset
	}
	return rs
}

// Ack implements logic.Logic: a device of user mid processed the user's
// stream up to (epoch, offset). The result is what the acks metric counts
// (history.AckResult, or AckInvalid for a malformed ack and AckNoHistory
// when users keep no history); the IDL has no typed error for a bad ack,
// so it is a result, not an RPC error. An outage of the store is an RPC
// error.
func (l *Logic) Ack(ctx context.Context, req *logicrpc.AckReq) (*logicrpc.AckResp, error) {
	if req == nil {
		history.AcksTotal.WithLabelValues(AckInvalid).Inc()
		return &logicrpc.AckResp{Result_: AckInvalid}, nil
	}
	result, err := l.ack(ctx, req.GetMid(), req.GetEpoch(), req.GetOffset())
	if err != nil {
		history.AcksTotal.WithLabelValues("error").Inc()
		return nil, fmt.Errorf("logic: ack of mid %d on %s: %w", req.GetMid(), req.GetServer(), err)
	}
	history.AcksTotal.WithLabelValues(result).Inc()
	return &logicrpc.AckResp{Result_: result}, nil
}

func (l *Logic) ack(ctx context.Context, mid int64, epoch string, offset int64) (string, error) {
	if mid == 0 || epoch == "" || offset <= 0 {
		return AckInvalid, nil
	}
	if !l.cfg.History.Users.On() || l.history == nil {
		return AckNoHistory, nil
	}
	cctx, cancel := l.callCtx(ctx)
	r, err := l.history.Ack(cctx, history.UserStream(mid), epoch, offset)
	cancel()
	if errors.Is(err, history.ErrInvalid) {
		return AckInvalid, nil
	}
	if err != nil {
		return "", err
	}
	return string(r), nil
}
