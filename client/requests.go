package client

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/goim-edge/goim-edge/protocol"
)

// joinedNow resumes a room the application just joined (see joined).
func (c *Client) joinedNow(room string) {
	if s := c.session(); s != nil {
		c.joined(s, room)
	}
}

func (c *Client) request(ctx context.Context, op, replyOp int32, body []byte) ([]byte, error) {
	s := c.session()
	if s == nil {
		return nil, ErrNotConnected
	}
	return s.request(ctx, op, replyOp, body)
}

// Send sends an upstream message (op 4) and waits for the server's
// reply. The edge hands it to logic (Receive) and replies also when logic
// could not take it, as goim does; a message over the edge's upstream
// rate gets no reply and fails when ctx or RequestTimeout ends.
func (c *Client) Send(ctx context.Context, body []byte) error {
	return c.SendOp(ctx, protocol.OpSendMsg, body)
}

// SendOp is Send with another upstream op: 4, 18–21 (a goim fork's) or a
// business op of 1000 and up. The reply carries the same op.
func (c *Client) SendOp(ctx context.Context, op int32, body []byte) error {
	if op != protocol.OpSendMsg && !(op >= 18 && op <= 21) && op < 1000 {
		return fmt.Errorf("client: op %d is not an upstream op (4, 18-21, >= 1000)", op)
	}
	_, err := c.request(ctx, op, op, body)
	return err
}

// ChangeRoom leaves every room the connection is in and joins room (op
// 12; "" leaves all). With room grants (jwt, webhook auth) a room outside
// them is refused with ErrRoomRefused and the rooms stay as they were.
func (c *Client) ChangeRoom(ctx context.Context, room string) error {
	reply, err := c.request(ctx, protocol.OpChangeRoom, protocol.OpChangeRoomReply, []byte(room))
	if err != nil {
		return err
	}
	if room != "" && len(reply) == 0 {
		return fmt.Errorf("%w: change to %q", ErrRoomRefused, room)
	}
	c.replay.room(protocol.OpChangeRoom, room)
	stream := protocol.RoomStream(room)
	c.rec.forget(func(s string) bool { return strings.HasPrefix(s, protocol.RoomStreamPrefix) && s != stream })
	c.joinedNow(room)
	return nil
}

// JoinRoom adds room without leaving the others (op 22, a goim-edge
// extension). A refusal (grants, max_rooms, a bad id) is ErrRoomRefused.
func (c *Client) JoinRoom(ctx context.Context, room string) error {
	reply, err := c.request(ctx, protocol.OpJoinRoom, protocol.OpJoinRoomReply, []byte(room))
	if err != nil {
		return err
	}
	if len(reply) == 0 {
		return fmt.Errorf("%w: join %q", ErrRoomRefused, room)
	}
	c.replay.room(protocol.OpJoinRoom, room)
	c.joinedNow(room)
	return nil
}

// LeaveRoom leaves room (op 24, a goim-edge extension); leaving a room
// the connection is not in is no error.
func (c *Client) LeaveRoom(ctx context.Context, room string) error {
	if _, err := c.request(ctx, protocol.OpLeaveRoom, protocol.OpLeaveRoomReply, []byte(room)); err != nil {
		return err
	}
	c.replay.room(protocol.OpLeaveRoom, room)
	stream := protocol.RoomStream(room)
	c.rec.forget(func(s string) bool { return s == stream })
	return nil
}

// Sub adds ops to the connection's accept set (op 14): pushes by key,
// mid and broadcast with these ops reach it. Room pushes need none.
func (c *Client) Sub(ctx context.Context, ops ...int32) error {
	if _, err := c.request(ctx, protocol.OpSub, protocol.OpSubReply, opsBody(ops)); err != nil {
		return err
	}
	c.replay.sub(ops, true)
	return nil
}

// Unsub removes ops from the accept set (op 16).
func (c *Client) Unsub(ctx context.Context, ops ...int32) error {
	if _, err := c.request(ctx, protocol.OpUnsub, protocol.OpUnsubReply, opsBody(ops)); err != nil {
		return err
	}
	c.replay.sub(ops, false)
	return nil
}

// Heartbeat sends a heartbeat now and returns the room online count of
// its reply. The client heartbeats by itself; this is for tests and UIs.
func (c *Client) Heartbeat(ctx context.Context) (int32, error) {
	reply, err := c.request(ctx, protocol.OpHeartbeat, protocol.OpHeartbeatReply, nil)
	if err != nil {
		return 0, err
	}
	if len(reply) < 4 {
		return 0, nil
	}
	return int32(binary.BigEndian.Uint32(reply)), nil
}

func opsBody(ops []int32) []byte {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = strconv.Itoa(int(op))
	}
	return []byte(strings.Join(s, ","))
}
