package scenario

import (
	"context"
	"time"

	"github.com/goim-edge/goim-edge/bench/payload"
	"github.com/goim-edge/goim-edge/bench/push"
)

// roomFanout pushes to the room(s) at the rate and checks every member got
// every message once. With several rooms, message i goes to room i mod n.
func (s *session) roomFanout(ctx context.Context) error {
	rooms := s.o.rooms()
	members := s.members()
	return s.pushPhase(ctx, push.Room, s.o.Drain, func(id uint64) (push.Target, uint32, int64) {
		room := rooms[id%uint64(len(rooms))]
		return push.Target{Kind: push.Room, Op: s.o.Op, Room: room}, payload.AnyDevice, members[room]
	}, expectedSum)
}

// broadcast pushes to everyone at the rate, each push paced by the server
// at Speed connections per second, and reports the time to reach all.
func (s *session) broadcast(ctx context.Context) error {
	up := int64(s.res.Connections.Up)
	drain := s.o.Drain
	if s.o.Speed > 0 {
		// A paced broadcast takes up/speed seconds to reach the last device.
		drain += time.Duration(float64(up) / float64(s.o.Speed) * 1.5 * float64(time.Second))
	}
	return s.pushPhase(ctx, push.All, drain, func(uint64) (push.Target, uint32, int64) {
		return push.Target{Kind: push.All, Op: s.o.Op, Speed: int32(s.o.Speed)}, payload.AnyDevice, up
	}, expectedSum)
}

func expectedSum(o *push.Outcome) int64 {
	var n int64
	for _, s := range o.Sent {
		n += s.Expected
	}
	return n
}
