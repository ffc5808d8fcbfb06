package client

import (
	"context"
	"slices"
	"sync"

	"github.com/goim-edge/goim-edge/protocol"
)

// replayLog is what the application changed on its connection (rooms,
// accept set), kept compact so it can be applied again after a
// reconnect: a new connection starts from the token only.
type replayLog struct {
	mu     sync.Mutex
	change *string  // the last ChangeRoom, if any
	rooms  []roomOp // joins and leaves since then, one per room, in order
	subs   []int32  // ops in the order first changed
	subbed map[int32]bool
}

type roomOp struct {
	op   int32 // OpJoinRoom or OpLeaveRoom
	room string
}

func (l *replayLog) room(op int32, room string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if op == protocol.OpChangeRoom {
		l.change = &room
		l.rooms = nil
		return
	}
	l.rooms = slices.DeleteFunc(l.rooms, func(r roomOp) bool { return r.room == room })
	l.rooms = append(l.rooms, roomOp{op, room})
}

func (l *replayLog) sub(ops []int32, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.subbed == nil {
		l.subbed = make(map[int32]bool)
	}
	for _, op := range ops {
		if _, ok := l.subbed[op]; !ok {
			l.subs = append(l.subs, op)
		}
		l.subbed[op] = on
	}
}

// requests is the log as the frames to send, in order.
func (l *replayLog) requests() []replayReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []replayReq
	if l.change != nil {
		out = append(out, replayReq{protocol.OpChangeRoom, protocol.OpChangeRoomReply, []byte(*l.change)})
	}
	for _, r := range l.rooms {
		out = append(out, replayReq{r.op, r.op + 1, []byte(r.room)})
	}
	var sub, unsub []int32
	for _, op := range l.subs {
		if l.subbed[op] {
			sub = append(sub, op)
		} else {
			unsub = append(unsub, op)
		}
	}
	if len(sub) > 0 {
		out = append(out, replayReq{protocol.OpSub, protocol.OpSubReply, opsBody(sub)})
	}
	if len(unsub) > 0 {
		out = append(out, replayReq{protocol.OpUnsub, protocol.OpUnsubReply, opsBody(unsub)})
	}
	return out
}

// joined is the set of room streams the log joins (a changed-to room
// and joined rooms).
func (l *replayLog) joined() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]bool)
	if l.change != nil && *l.change != "" {
		out[protocol.RoomStream(*l.change)] = true
	}
	for _, r := range l.rooms {
		if r.op == protocol.OpJoinRoom {
			out[protocol.RoomStream(r.room)] = true
		}
	}
	return out
}

type replayReq struct {
	op, replyOp int32
	body        []byte
}

// applyReplay sends the log on a new connection. A refusal now (grants
// changed) leaves that room out; a broken connection ends the session as
// usual. With recovery, each room joined again is resumed.
func (c *Client) applyReplay(s *session) {
	for _, r := range c.replay.requests() {
		reply, err := s.request(context.Background(), r.op, r.replyOp, r.body)
		if err != nil {
			return
		}
		if (r.op == protocol.OpJoinRoom || r.op == protocol.OpChangeRoom) && len(reply) > 0 {
			c.joined(s, string(r.body))
		}
	}
}
