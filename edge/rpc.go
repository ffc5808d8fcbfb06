package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	kitexserver "github.com/cloudwego/kitex/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/goim-edge/goim-edge/internal/serving"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeservice "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	"github.com/goim-edge/goim-edge/protocol"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/rpcauth"
	"github.com/goim-edge/goim-edge/tracing"
)

// Handler implements the Kitex Edge service (kitex_gen/edge.Edge): the
// pushes job fans out, plus room listing, kick and drain for operators.
type Handler struct {
	srv *Server

	dedupOnce sync.Once
	dedup     *dedup // message ids delivered recently (dedup.go)
}

var _ edge.Edge = (*Handler)(nil)

// CodeBadRequest is the edge.EdgeError code of a request that is its own
// fault (a poison message): retrying it cannot succeed and it says
// nothing about the edge's health.
const CodeBadRequest int32 = 400

// Errors returned to RPC callers for requests that cannot be served. They
// travel as *edge.EdgeError{Code: CodeBadRequest} (see badRequest), the
// only error shape a Kitex client receives intact and can tell from the
// edge's own failures with errors.As.
var (
	ErrNoRoom    = errors.New("edge: room is required")
	ErrNoKeys    = errors.New("edge: keys are required")
	ErrNoMessage = errors.New("edge: msgs are required")
	// ErrRawOp refuses pushes with op 9: the edge builds OpRaw batches
	// itself, and a TCP device would read a pushed op-9 body as frames.
	ErrRawOp = errors.New("edge: op 9 (raw) cannot be pushed")
	// ErrReservedOp refuses the other protocol ops (protocol.Pushable): a
	// device would read them as a protocol step, not a message.
	ErrReservedOp = errors.New("edge: reserved protocol op cannot be pushed")
	// ErrBodyTooLarge refuses a body over protocol.MaxPushBody.
	ErrBodyTooLarge = errors.New("edge: message body too large")
	// ErrRoomTooLong refuses a room id no device can be in.
	ErrRoomTooLong = errors.New("edge: room id too long")
	// ErrNegative refuses a negative speed or drain rate, which would
	// otherwise mean "no pacing" and close or reach everything at once.
	ErrNegative = errors.New("edge: rate must not be negative")
)

// refusedRPCTotal counts requests refused as their own fault, so a caller
// sending poison shows on the edge as well as in job.
var refusedRPCTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "goim_edge_rpc_refused_total",
	Help: "Edge RPC requests refused as the request's own fault (EdgeError 400), by method.",
}, []string{"method"})

// badRequest counts a refusal of method and returns err as the IDL
// exception a caller treats as poison. The message keeps err's text; the
// sentinels above stay the Go-side names of each case.
func badRequest(method string, err error) *edge.EdgeError {
	refusedRPCTotal.WithLabelValues(method).Inc()
	return &edge.EdgeError{Code: CodeBadRequest, Message: err.Error()}
}

// checkPush refuses a message no device may receive: a protocol op, or a
// body larger than any push may carry.
func checkPush(op int32, body []byte) error {
	switch {
	case op == protocol.OpRaw:
		return ErrRawOp
	case !protocol.Pushable(op):
		return fmt.Errorf("%w: op %d", ErrReservedOp, op)
	case len(body) > protocol.MaxPushBody:
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrBodyTooLarge, len(body), protocol.MaxPushBody)
	}
	return nil
}

// PushKeys queues {op, body} to the connections of keys whose accept set
// holds op; it returns how many took it. Connections that opted into
// recovery get it as an op-28 frame when it has a position in their
// user's stream. A request that is its own fault
// is refused with an edge.EdgeError before anything is queued.
func (h *Handler) PushKeys(ctx context.Context, req *edge.PushKeysReq) (resp *edge.PushKeysResp, err error) {
	end := h.traceRPC(ctx, "goim.edge.push_keys", req.MsgId)
	defer func() {
		if resp != nil {
			end(int(resp.Delivered), err)
		} else {
			end(0, err)
		}
	}()
	pushesTotal.WithLabelValues("keys").Inc()
	if len(req.Keys) == 0 {
		return nil, badRequest("PushKeys", ErrNoKeys)
	}
	if err := checkPush(req.Op, req.Body); err != nil {
		return nil, badRequest("PushKeys", err)
	}
	if h.dedupe().duplicate("keys", req.MsgId) {
		return &edge.PushKeysResp{}, nil
	}
	msg := protocol.AppendFrame(nil, protocol.PushVer, req.Op, 0, req.Body)
	n := 0
	for _, k := range req.Keys {
		s := h.srv.bucketFor(k).get(k)
		if s == nil {
			continue
		}
		// A device that opted into recovery takes the push with its
		// position in the device's user stream (resume.go).
		if s.offer(msg, s.keyedForm(req.Positions, req.Op, req.Body), req.Op, true, false) {
			n++
		}
	}
	deliveredTotal.WithLabelValues("keys").Add(float64(n))
	return &edge.PushKeysResp{Delivered: int32(n)}, nil
}

// PushRoom adds msgs to the room's batch (every member gets them, accept
// sets notwithstanding) and returns the members here. The whole batch is
// refused, with an edge.EdgeError, when any message in it is bad.
func (h *Handler) PushRoom(ctx context.Context, req *edge.PushRoomReq) (resp *edge.PushRoomResp, err error) {
	end := h.traceRPC(ctx, "goim.edge.push_room", firstMsgID(req.Msgs))
	defer func() {
		if resp != nil {
			end(int(resp.Members), err)
		} else {
			end(0, err)
		}
	}()
	pushesTotal.WithLabelValues("room").Inc()
	if req.Room == "" {
		return nil, badRequest("PushRoom", ErrNoRoom)
	}
	if len(req.Room) > protocol.MaxRoomID {
		return nil, badRequest("PushRoom", fmt.Errorf("%w: %d bytes, the limit is %d", ErrRoomTooLong, len(req.Room), protocol.MaxRoomID))
	}
	if len(req.Msgs) == 0 {
		return nil, badRequest("PushRoom", ErrNoMessage)
	}
	for i, m := range req.Msgs {
		if m == nil {
			return nil, badRequest("PushRoom", fmt.Errorf("edge: msgs[%d] is null", i))
		}
		if err := checkPush(m.Op, m.Body); err != nil {
			return nil, badRequest("PushRoom", fmt.Errorf("msgs[%d]: %w", i, err))
		}
	}
	msgs := h.dedupe().freshRoomMsgs(req.Msgs)
	r := h.srv.room(req.Room)
	if r == nil || len(msgs) == 0 {
		return &edge.PushRoomResp{}, nil
	}
	return &edge.PushRoomResp{Members: int32(r.push(msgs))}, nil
}

// Broadcast sends {op, body} to every connection accepting op, in the
// background either way, so a large edge answers within the caller's
// deadline (a timed-out broadcast retried by job would reach devices
// twice). The reply counts the connections it will go through. Without a
// speed the fan-out workers write it at once; with one it is paced at
// speed connections per second.
func (h *Handler) Broadcast(ctx context.Context, req *edge.BroadcastReq) (resp *edge.BroadcastResp, err error) {
	end := h.traceRPC(ctx, "goim.edge.broadcast", req.MsgId)
	defer func() {
		if resp != nil {
			end(int(resp.Connections), err)
		} else {
			end(0, err)
		}
	}()
	pushesTotal.WithLabelValues("broadcast").Inc()
	if err := checkPush(req.Op, req.Body); err != nil {
		return nil, badRequest("Broadcast", err)
	}
	if req.Speed < 0 {
		return nil, badRequest("Broadcast", fmt.Errorf("%w: speed %d", ErrNegative, req.Speed))
	}
	if h.dedupe().duplicate("broadcast", req.MsgId) {
		return &edge.BroadcastResp{}, nil
	}
	msg := protocol.AppendFrame(nil, protocol.PushVer, req.Op, 0, req.Body)
	all := h.srv.sessionsSnapshot()
	h.srv.loops.Add(1)
	go func() {
		defer h.srv.loops.Done()
		if req.Speed <= 0 {
			n := writeAll(all, msg, req.Op, true, fanoutStallCheck)
			deliveredTotal.WithLabelValues("broadcast").Add(float64(n))
			return
		}
		h.srv.paced(all, int(req.Speed), func(s *session) {
			if s.push(msg, req.Op, true) {
				deliveredTotal.WithLabelValues("broadcast").Inc()
			}
		})
	}()
	return &edge.BroadcastResp{Connections: int32(len(all))}, nil
}

// Rooms lists the rooms with members here.
func (h *Handler) Rooms(context.Context, *edge.RoomsReq) (*edge.RoomsResp, error) {
	counts := make(map[string]int32)
	for _, b := range h.srv.shards.buckets {
		b.roomCounts(counts)
	}
	return &edge.RoomsResp{Rooms: counts}, nil
}

// Kick closes the connections of keys (their routes are removed).
func (h *Handler) Kick(_ context.Context, req *edge.KickReq) (*edge.KickResp, error) {
	n := 0
	for _, k := range req.Keys {
		if s := h.srv.bucketFor(k).get(k); s != nil {
			s.close("kicked")
			n++
		}
	}
	return &edge.KickResp{Kicked: int32(n)}, nil
}

// Drain stops new connections and ends the existing ones at rate per
// second (0: all at once) so devices reconnect to other edges: each
// device gets what is queued for it, WebSocket devices a close frame with
// code 1001, then its connection closes (see goaway.go). Pushes keep
// being served meanwhile. It returns the connections left to end; main
// publishes the node as draining in the registry (DrainStarted), and a
// Drain while one is running leaves that one's pace alone. A negative
// rate is refused (EdgeError 400) rather than read as "all at once".
func (h *Handler) Drain(_ context.Context, req *edge.DrainReq) (*edge.DrainResp, error) {
	if req.Rate < 0 {
		return nil, badRequest("Drain", fmt.Errorf("%w: rate %d", ErrNegative, req.Rate))
	}
	h.srv.BeginDrain()
	n := h.srv.sessions.Load()
	h.srv.loops.Add(1)
	go func() {
		defer h.srv.loops.Done()
		h.srv.endSessions(int(req.Rate))
	}()
	return &edge.DrainResp{Connections: int32(n)}, nil
}

// paceTick is how often paced work runs a slice of its connections.
const paceTick = 10 * time.Millisecond

// paced calls fn for each session, at most perSecond per second (0: no
// limit), stopping early on Shutdown. The allowance grows with the time
// elapsed, so rates below one per tick are kept too.
func (s *Server) paced(all []*session, perSecond int, fn func(*session)) {
	if perSecond <= 0 {
		for _, sess := range all {
			fn(sess)
		}
		return
	}
	t := time.NewTicker(paceTick)
	defer t.Stop()
	start := time.Now()
	done := 0
	for {
		allowed := 1 + int(float64(perSecond)*time.Since(start).Seconds())
		n := min(allowed-done, len(all))
		for _, sess := range all[:max(n, 0)] {
			fn(sess)
		}
		if n > 0 {
			all = all[n:]
			done += n
		}
		if len(all) == 0 {
			return
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

func (s *Server) startRPC() error {
	ln, err := net.Listen("tcp", s.cfg.RPCAddr)
	if err != nil {
		return fmt.Errorf("edge: listen rpc %s: %w", s.cfg.RPCAddr, err)
	}
	s.addrs.RPC = ln.Addr().String()
	k := serving.NewKitex(s.addrs.RPC)
	opts := append(append(rpcauth.ServerOptions(s.cfg.RPCAuth, registry.ServiceEdge), tracing.KitexServerOptions()...),
		kitexserver.WithListener(ln),
		kitexserver.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: registry.ServiceEdge}),
		k.ExitOption(),
		kitexserver.WithExitWaitTime(2*time.Second),
	)
	svr := edgeservice.NewServer(s.handler, opts...)
	s.rpc = k
	// Ready once the Edge service answers a call made with the secret.
	probe, closeProbe, err := serving.KitexProbe(edgeservice.NewServiceInfoForClient(), registry.ServiceEdge, "Rooms",
		func() any { return &edge.EdgeRoomsArgs{Req: &edge.RoomsReq{}} }, func() any { return &edge.EdgeRoomsResult{} },
		append(rpcauth.ClientOptions(s.cfg.RPCAuth.Secret), client.WithHostPorts(s.addrs.RPC), client.WithRPCTimeout(200*time.Millisecond))...)
	if err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	defer closeProbe() //nolint:errcheck // a probe client: nothing to report
	addr := s.addrs.RPC
	return k.Run(svr, "edge: rpc server", probe, func(err error) {
		s.log.Error("edge: rpc serve", "addr", addr, "err", err)
	})
}

// firstMsgID names a room batch in traces by its first message.
func firstMsgID(msgs []*edge.RoomMsg) string {
	if len(msgs) == 0 || msgs[0] == nil {
		return ""
	}
	return msgs[0].MsgId
}
