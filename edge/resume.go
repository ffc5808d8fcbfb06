package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
	"github.com/goim-edge/goim-edge/protocol"
)

// Recovery at the edge (docs/recovery.md). A device opts in with op 26,
// best sent right before its auth frame. From then on the connection is
// positioned (qPositioned): a push that carries a position in one of its
// streams reaches it as op-28 frames (posForm) instead of goim's plain
// frames.
//
// Why nothing is missed or doubled at the boundary between recovered and
// live messages: the streams being recovered are marked *before* the
// connection can receive their pushes (at auth: before the session is
// published), and logic's history is read *after* that. A message
// appended to history before the read is in what the read returns; one
// appended after it reaches this edge after the mark, and waits in the
// session's held list. When the read returns, the recovered messages,
// the verdict (op 27) and the held pushes — minus those the read already
// returned, by offset — enter the send queue in one step under qmu, so
// no live push of those streams can slip between them.

var (
	resumesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_resumes_total",
		Help: "Streams devices asked to recover (op 26), by verdict: recovered, or the reason it was not (gap, epoch, limit, no_history, not_followed, unavailable).",
	}, []string{"result"})
	resumedMessagesTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_edge_resumed_messages_total",
		Help: "Messages delivered to devices by recovery (op 26).",
	})
	resumeOverflowsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_edge_resume_overflows_total",
		Help: "Connections closed because more live pushes arrived during their recovery than resume_buffer holds.",
	})
	acksTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_edge_acks_total",
		Help: "Acks (op 29) from devices, by logic's result (advanced, stale, other_epoch, no_history, invalid) or error.",
	}, []string{"result"})
)

// errBadResume ends a connection whose op 26 or op 29 is malformed, or
// that sends op 26 twice before auth.
var errBadResume = errors.New("edge: malformed recovery frame")

// posMark is the position of one inner frame of a posForm; stream "" is a
// plain frame (a push without a position in a mixed room batch).
type posMark struct {
	stream, epoch string
	offset        int64
	start, end    int // the frame's bytes within posForm.frame
}

// posForm is a push as a positioned connection receives it: one op-28
// frame (keys pushes), or an op-9 batch of them (room batches), with the
// position of each inner frame so a recovering connection can drop what
// recovery delivered.
type posForm struct {
	frame []byte
	raw   bool // frame is an op-9 batch: marks cover its inner frames
	marks []posMark
}

// streamAt is where recovery left a device in one stream.
type streamAt struct {
	epoch  string
	offset int64
}

// resumeState is a positioned connection's recovery state, under qmu.
type resumeState struct {
	// recovering are the streams being read; their pushes wait in held.
	recovering map[string]struct{}
	held       []*posForm
	// floor is where the last recovery left each stream. A push can
	// still reach the session after its recovery ended although the
	// recovery already covered it (a room batch pending when the device
	// joined, a job call in flight): live frames at or below the floor
	// (same epoch) are dropped, until one beyond it passes.
	floor map[string]streamAt
}

// pass is pf as the session takes it once its recovery is over: without
// the frames at or below the floor, nil when none is left. The floor of
// a stream goes once a frame beyond it (or of another epoch) passes.
func (r *resumeState) pass(pf *posForm) []byte {
	if len(r.floor) == 0 {
		return pf.frame
	}
	b := pf.after(r.floor)
	for i := range pf.marks {
		m := &pf.marks[i]
		if at, ok := r.floor[m.stream]; ok && (m.epoch != at.epoch || m.offset > at.offset) {
			delete(r.floor, m.stream)
		}
	}
	return b
}

// holds reports whether pf belongs to a stream being recovered.
func (r *resumeState) holds(pf *posForm) bool {
	if len(r.recovering) == 0 {
		return false
	}
	for i := range pf.marks {
		if _, ok := r.recovering[pf.marks[i].stream]; ok {
			return true
		}
	}
	return false
}

// after is pf without the frames recovery already delivered (same epoch,
// offset at or below where it left the stream); nil when nothing is left.
func (pf *posForm) after(last map[string]streamAt) []byte {
	keep := 0
	for i := range pf.marks {
		if !pf.delivered(i, last) {
			keep++
		}
	}
	switch {
	case keep == len(pf.marks):
		return pf.frame
	case keep == 0:
		return nil
	case !pf.raw:
		return pf.frame // a single frame is kept or dropped whole
	}
	out := make([]byte, protocol.HeaderLen, len(pf.frame))
	for i, m := range pf.marks {
		if !pf.delivered(i, last) {
			out = append(out, pf.frame[m.start:m.end]...)
		}
	}
	protocol.AppendHeader(out[:0], len(out), protocol.PushVer, protocol.OpRaw, 0)
	return out
}

func (pf *posForm) delivered(i int, last map[string]streamAt) bool {
	m := &pf.marks[i]
	at, ok := last[m.stream]
	return ok && m.stream != "" && m.epoch == at.epoch && m.offset <= at.offset
}

// keyedForm is the op-28 form of a push by key or mid for s, or nil when
// s did not opt in or the push has no position in s's user stream.
func (s *session) keyedForm(positions []*common.StreamPos, op int32, body []byte) *posForm {
	if len(positions) == 0 || s.mid == 0 || !s.positioned() {
		return nil
	}
	var name [32]byte
	stream := strconv.AppendInt(append(name[:0], protocol.UserStreamPrefix...), s.mid, 10)
	for _, p := range positions {
		if p != nil && p.Stream == string(stream) {
			f := protocol.AppendPositioned(nil, p.Stream, p.Epoch, p.Offset, op, body)
			return &posForm{frame: f, marks: []posMark{{stream: p.Stream, epoch: p.Epoch, offset: p.Offset, end: len(f)}}}
		}
	}
	return nil
}

// positioned reports whether the device opted into recovery.
func (s *session) positioned() bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return s.q(qPositioned)
}

// holdLocked keeps pf until the recovery in progress ends (qmu held); false
// when the connection holds ResumeBuffer pushes already.
func (s *session) holdLocked(pf *posForm) bool {
	r := s.ext.resume
	if len(r.held) >= s.srv.cfg.ResumeBuffer {
		return false
	}
	r.held = append(r.held, pf)
	return true
}

// stashResume keeps an op 26 sent before auth, to run once auth succeeds.
func (s *session) stashResume(f protocol.Frame) error {
	e := s.extension()
	if e.pending != nil {
		return fmt.Errorf("%w: a second op 26 before auth", errBadResume)
	}
	req, err := s.parseResume(f.Body)
	if err != nil {
		return err
	}
	e.pending = &pendingResume{req: req, ver: f.Ver, seq: f.Seq}
	return nil
}

// pendingResume is an op 26 waiting for auth.
type pendingResume struct {
	req protocol.ResumeRequest
	ver int16
	seq int32
}

// parseResume decodes an op-26 body: at most MaxRooms+1 streams (a user
// and every room), duplicates dropped.
func (s *session) parseResume(body []byte) (protocol.ResumeRequest, error) {
	var req protocol.ResumeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return req, fmt.Errorf("%w: %w", errBadResume, err)
	}
	if len(req.Streams) > s.srv.cfg.MaxRooms+1 {
		return req, fmt.Errorf("%w: %d streams, at most %d", errBadResume, len(req.Streams), s.srv.cfg.MaxRooms+1)
	}
	seen := make(map[string]bool, len(req.Streams))
	out := req.Streams[:0]
	for _, sp := range req.Streams {
		if sp.Offset < 0 || len(sp.Stream) > protocol.MaxStreamName || seen[sp.Stream] {
			continue
		}
		seen[sp.Stream] = true
		out = append(out, sp)
	}
	req.Streams = out
	return req, nil
}

// followedStreams are the streams of req that s follows: its user's and
// those of the rooms it is in (rooms is the list to judge by).
func (s *session) followedStreams(req protocol.ResumeRequest, mid int64, rooms []string) map[string]bool {
	own := map[string]bool{}
	if mid != 0 {
		own[protocol.UserStream(mid)] = true
	}
	for _, id := range rooms {
		own[protocol.RoomStream(id)] = true
	}
	out := make(map[string]bool, len(req.Streams))
	for _, sp := range req.Streams {
		if own[sp.Stream] {
			out[sp.Stream] = true
		}
	}
	return out
}

// beginResume makes s positioned and holds the live pushes of streams
// until finishResume. At auth it runs before the session is published.
func (s *session) beginResume(streams map[string]bool) {
	e := s.extension() // made before qPositioned is set: pushers read it only then
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if e.resume == nil {
		e.resume = &resumeState{}
	}
	e.resume.recovering = make(map[string]struct{}, len(streams))
	for st := range streams {
		e.resume.recovering[st] = struct{}{}
	}
	s.setQ(qPositioned, true)
}

// roomIDs is the rooms s is in.
func (s *session) roomIDs() []string {
	s.smu.Lock()
	defer s.smu.Unlock()
	ids := make([]string, len(s.rooms))
	for i, r := range s.rooms {
		ids[i] = r.id
	}
	return ids
}

// resume serves an op 26 after auth: recover the streams it names that
// the connection follows, then go on live.
func (s *session) resume(f protocol.Frame) error {
	req, err := s.parseResume(f.Body)
	if err != nil {
		return err
	}
	followed := s.followedStreams(req, s.mid, s.roomIDs())
	s.beginResume(followed)
	s.runResume(req, followed, f.Ver, f.Seq)
	return nil
}

// runResume reads what the device missed from logic and hands it over,
// with the verdict and the pushes held meanwhile (finishResume). A failed
// read gives every stream the verdict "unavailable"; the held pushes are
// then delivered as they are.
func (s *session) runResume(req protocol.ResumeRequest, followed map[string]bool, ver int16, seq int32) {
	srv := s.srv
	verdicts := make([]protocol.StreamVerdict, len(req.Streams))
	var ask []*common.StreamPos
	var idx []int
	for i, sp := range req.Streams {
		verdicts[i] = protocol.StreamVerdict{Stream: sp.Stream}
		if !followed[sp.Stream] {
			verdicts[i].Reason = protocol.ReasonNotFollowed
			continue
		}
		ask = append(ask, &common.StreamPos{Stream: sp.Stream, Epoch: sp.Epoch, Offset: sp.Offset})
		idx = append(idx, i)
	}
	var resp *logic.ResumeResp
	var err error
	if len(ask) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), srv.cfg.LogicTimeout)
		stop := s.watchInput(cancel)
		resp, err = srv.logic.Resume(ctx, &logic.ResumeReq{Mid: s.mid, Key: s.key, Server: srv.cfg.Node, Streams: ask})
		stop()
		cancel()
		if err == nil && len(resp.GetStreams()) != len(ask) {
			err = fmt.Errorf("edge: logic answered %d streams for %d asked", len(resp.GetStreams()), len(ask))
		}
		if err != nil {
			logicErrorsTotal.WithLabelValues("resume").Inc()
			err = logicError(err)
		}
	}
	var got []*logic.ResumedStream
	if err == nil && resp != nil {
		got = resp.Streams
	}
	s.finishResume(verdicts, idx, got, ver, seq)
}

// finishResume queues, in one step, the recovered messages, the verdict
// and the held pushes that recovery did not already deliver, and ends
// the recovery. got is nil when logic could not answer.
func (s *session) finishResume(verdicts []protocol.StreamVerdict, idx []int, got []*logic.ResumedStream, ver int16, seq int32) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	r := s.ext.resume
	held := r.held
	r.held, r.recovering = nil, nil
	if s.q(qClosed) {
		return
	}
	last := make(map[string]streamAt, len(got))
	var batch *protocol.Batch
	for j, i := range idx {
		v := &verdicts[i]
		if got == nil {
			v.Reason = protocol.ReasonUnavailable
			continue
		}
		rs := got[j]
		if p := rs.GetPosition(); p != nil {
			v.Epoch, v.Offset = p.Epoch, p.Offset
			last[v.Stream] = streamAt{epoch: p.Epoch, offset: p.Offset}
		}
		v.Recovered, v.Reason = rs.Recovered, rs.Reason
		if v.Recovered {
			v.Reason = ""
		}
		user := !strings.HasPrefix(v.Stream, protocol.RoomStreamPrefix)
		for _, m := range rs.Messages {
			if m == nil || (user && !s.accepts.has(m.Op)) {
				continue
			}
			if batch == nil {
				batch = protocol.NewBatch(len(rs.Messages) * (protocol.HeaderLen + 64))
			}
			batch.AddPositioned(v.Stream, v.Epoch, m.Offset, m.Op, m.Body)
			v.Count++
		}
	}
	for i := range verdicts {
		if verdicts[i].Recovered {
			resumesTotal.WithLabelValues("recovered").Inc()
		} else {
			resumesTotal.WithLabelValues(verdicts[i].Reason).Inc()
		}
		resumedMessagesTotal.Add(float64(verdicts[i].Count))
	}
	if r.floor == nil {
		r.floor = make(map[string]streamAt, len(last))
	}
	for st, at := range last {
		r.floor[st] = at
	}
	if batch != nil {
		s.queue = append(s.queue, batch.Raw())
	}
	body, _ := json.Marshal(protocol.ResumeReply{Streams: verdicts}) // plain structs: cannot fail
	s.queue = append(s.queue, protocol.AppendFrame(nil, ver, protocol.OpResumeReply, seq, body))
	for _, pf := range held {
		if b := pf.after(last); b != nil {
			s.queue = append(s.queue, b)
		}
	}
	if !s.q(qWriting) {
		s.setQ(qWriting, true)
		go s.drain()
	}
}

// ack forwards an op 29 to logic through the upstream slots. A device
// without a user (mid 0) has no stream to ack; its ack is answered and
// dropped.
func (s *session) ack(f protocol.Frame) error {
	var a protocol.Ack
	if err := json.Unmarshal(f.Body, &a); err != nil {
		return fmt.Errorf("%w: ack: %w", errBadResume, err)
	}
	if s.mid == 0 {
		acksTotal.WithLabelValues("no_user").Inc()
		return nil
	}
	s.upstreamCall("ack", func(ctx context.Context) error {
		resp, err := s.srv.logic.Ack(ctx, &logic.AckReq{Mid: s.mid, Key: s.key, Server: s.srv.cfg.Node, Epoch: a.Epoch, Offset: a.Offset})
		if err != nil {
			acksTotal.WithLabelValues("error").Inc()
			return err
		}
		acksTotal.WithLabelValues(resp.GetResult_()).Inc()
		return nil
	})
	return nil
}
