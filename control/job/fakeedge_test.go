package job

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeservice "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	"github.com/goim-edge/goim-edge/registry"
)

// recEdge is a real Kitex Edge server standing in for an edge in job's
// tests: it records what it receives, and can be made to hang, fail a
// number of calls, or stop and start again on the same address.
type recEdge struct {
	tb   testing.TB
	node string
	addr string

	mu      sync.Mutex
	keys    []*edge.PushKeysReq
	rooms   []*edge.PushRoomReq
	bcasts  []*edge.BroadcastReq
	members map[string]int32
	changed chan struct{} // closed and replaced on every recorded call

	// onPush, when set, is called for each push instead of recording it
	// (benchmarks: nothing piles up).
	onPush func(msgID string, body []byte)

	hang      chan struct{} // non-nil: pushes block until it is closed
	failPush  atomic.Int32  // fail this many pushes before succeeding
	roomsCall atomic.Int32
	// refused counts pushes refused with an EdgeError: like the real
	// edge, recEdge refuses op 9 (raw), the message's own fault.
	refused atomic.Int32
	// entered counts push calls that reached the edge (hung ones too).
	entered atomic.Int64
	// delay, when positive, is how long every push takes (a slow edge).
	delay   atomic.Int64
	svr     server.Server
	stopped chan struct{}
}

func startRecEdge(t *testing.T, node string) *recEdge {
	t.Helper()
	e := &recEdge{tb: t, node: node, members: map[string]int32{}, changed: make(chan struct{})}
	e.start("127.0.0.1:0")
	t.Cleanup(e.stop)
	return e
}

// start serves on addr (":0" picks a port, kept for restarts).
func (e *recEdge) start(addr string) {
	e.tb.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // a restart may race the old socket's release
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		e.tb.Fatalf("edge %s: listen %s: %v", e.node, addr, err)
	}
	e.addr = ln.Addr().String()
	e.svr = edgeservice.NewServer(e, server.WithListener(ln), server.WithExitWaitTime(50*time.Millisecond))
	e.stopped = make(chan struct{})
	go func(svr server.Server, stopped chan struct{}) {
		defer close(stopped)
		if err := svr.Run(); err != nil {
			e.tb.Logf("edge %s: server: %v", e.node, err)
		}
	}(e.svr, e.stopped)
	waitDial(e.tb, e.addr)
}

func (e *recEdge) stop() {
	e.unhang()
	e.mu.Lock()
	svr := e.svr
	e.svr = nil
	e.mu.Unlock()
	if svr != nil {
		_ = svr.Stop()
		<-e.stopped
	}
}

func (e *recEdge) restart() { e.start(e.addr) }

func waitDial(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *recEdge) instance() registry.Instance {
	return registry.Instance{
		Env: "test", Service: registry.ServiceEdge, Region: "r1", Node: e.node,
		Addrs: registry.Addrs{RPC: e.addr}, Weight: 1,
	}
}

// setHang makes pushes block until unhang (or the test ends).
func (e *recEdge) setHang() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hang = make(chan struct{})
}

// unhang releases hung calls and lets later ones through.
func (e *recEdge) unhang() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hang != nil {
		close(e.hang)
		e.hang = nil
	}
}

func (e *recEdge) setMembers(m map[string]int32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.members = m
}

var errInjected = errors.New("injected failure")

// opRaw is the op the edge refuses (protocol.OpRaw).
const opRaw = 9

// enter waits while hung or slow, reports an injected failure, and
// refuses op 9 with an EdgeError as the real edge does.
func (e *recEdge) enter(ops ...int32) error {
	e.entered.Add(1)
	e.mu.Lock()
	hang := e.hang
	e.mu.Unlock()
	if hang != nil {
		<-hang
	}
	if d := time.Duration(e.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	for _, op := range ops {
		if op == opRaw {
			e.refused.Add(1)
			return &edge.EdgeError{Code: 400, Message: "op 9 (raw) cannot be pushed"}
		}
	}
	if e.failPush.Add(-1) >= 0 {
		return errInjected
	}
	return nil
}

func (e *recEdge) record(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f()
	close(e.changed)
	e.changed = make(chan struct{})
}

func (e *recEdge) PushKeys(_ context.Context, req *edge.PushKeysReq) (*edge.PushKeysResp, error) {
	if err := e.enter(req.Op); err != nil {
		return nil, err
	}
	if e.onPush != nil {
		e.onPush(req.MsgId, req.Body)
		return &edge.PushKeysResp{Delivered: int32(len(req.Keys))}, nil
	}
	e.record(func() { e.keys = append(e.keys, req) })
	return &edge.PushKeysResp{Delivered: int32(len(req.Keys))}, nil
}

func (e *recEdge) PushRoom(_ context.Context, req *edge.PushRoomReq) (*edge.PushRoomResp, error) {
	ops := make([]int32, 0, len(req.Msgs))
	for _, m := range req.Msgs {
		ops = append(ops, m.Op)
	}
	if err := e.enter(ops...); err != nil {
		return nil, err
	}
	if e.onPush != nil {
		for _, m := range req.Msgs {
			e.onPush(m.MsgId, m.Body)
		}
		return &edge.PushRoomResp{Members: 1}, nil
	}
	e.record(func() { e.rooms = append(e.rooms, req) })
	return &edge.PushRoomResp{Members: 1}, nil
}

func (e *recEdge) Broadcast(_ context.Context, req *edge.BroadcastReq) (*edge.BroadcastResp, error) {
	if err := e.enter(req.Op); err != nil {
		return nil, err
	}
	if e.onPush != nil {
		e.onPush(req.MsgId, req.Body)
		return &edge.BroadcastResp{Connections: 1}, nil
	}
	e.record(func() { e.bcasts = append(e.bcasts, req) })
	return &edge.BroadcastResp{Connections: 1}, nil
}

func (e *recEdge) Rooms(context.Context, *edge.RoomsReq) (*edge.RoomsResp, error) {
	e.roomsCall.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int32, len(e.members))
	for k, v := range e.members {
		out[k] = v
	}
	return &edge.RoomsResp{Rooms: out}, nil
}

func (e *recEdge) Kick(context.Context, *edge.KickReq) (*edge.KickResp, error) {
	return &edge.KickResp{}, nil
}

func (e *recEdge) Drain(context.Context, *edge.DrainReq) (*edge.DrainResp, error) {
	return &edge.DrainResp{}, nil
}

// roomMsgIDs is every room message id received, in order.
func (e *recEdge) roomMsgIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	for _, r := range e.rooms {
		for _, m := range r.Msgs {
			ids = append(ids, m.MsgId)
		}
	}
	return ids
}

func (e *recEdge) keyMsgIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	for _, r := range e.keys {
		ids = append(ids, r.MsgId)
	}
	return ids
}

func (e *recEdge) broadcasts() []*edge.BroadcastReq {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*edge.BroadcastReq(nil), e.bcasts...)
}

// waitFor waits until cond holds; cond may use the locking accessors.
func (e *recEdge) waitFor(what string, cond func() bool) {
	e.tb.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		e.mu.Lock()
		ch := e.changed
		e.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			e.tb.Fatalf("edge %s: timed out waiting for %s", e.node, what)
		}
	}
}
