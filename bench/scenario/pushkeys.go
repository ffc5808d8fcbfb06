package scenario

import (
	"context"
	"errors"

	"github.com/goim-edge/goim-edge/bench/push"
	"github.com/goim-edge/goim-edge/bench/worker"
)

// pushKeys pushes to one device at a time, round-robin over the connected
// devices, by key or by mid, and measures end-to-end latency at the rate.
func (s *session) pushKeys(ctx context.Context) error {
	live := s.liveDevices()
	if len(live) == 0 {
		return errors.New("no device to push to")
	}
	prefix, midBase := s.specs[0].KeyPrefix, s.specs[0].MidBase
	return s.pushPhase(ctx, s.o.By, s.o.Drain, func(id uint64) (push.Target, uint32, int64) {
		idx := live[id%uint64(len(live))]
		t := push.Target{Kind: s.o.By, Op: s.o.Op}
		if s.o.By == push.Mids {
			t.Mids = []int64{midBase + int64(idx)}
		} else {
			t.Keys = []string{worker.Key(prefix, idx)}
		}
		return t, uint32(idx), 1
	}, expectedSum)
}
