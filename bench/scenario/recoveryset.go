package scenario

import (
	"fmt"
	"time"

	"github.com/goim-edge/goim-edge/bench/device"
	"github.com/goim-edge/goim-edge/bench/push"
)

// RecoveryRun is one run of the recovery set and whether its server must
// keep history for the room's type.
type RecoveryRun struct {
	Options Options
	History bool
}

// RecoverySet is the cost of message recovery (issue 13), each run meant
// for its own fresh server: room fan-out at the standard set's size with
// history off, with history on for the room's type (plain goim devices),
// and with history on and positioned devices; then resume-storm. quick
// shrinks it as Standard's quick does.
func RecoverySet(quick bool) []RecoveryRun {
	fan := Options{Scenario: RoomFanout, Transport: device.TCP, Conns: 10000, Rate: 40, Duration: 20 * time.Second, Procs: -1}
	storm := Options{Scenario: ResumeStorm, Transport: device.TCP, Conns: 10000, Messages: 100, Procs: -1}
	if quick {
		fan.Conns, fan.Duration, fan.Procs = fan.Conns/50, 3*time.Second, 0
		storm.Conns, storm.Procs = storm.Conns/50, 0
	}
	pos := fan
	pos.Resume = true
	set := []RecoveryRun{{Options: fan}, {Options: fan, History: true}, {Options: pos, History: true}, {Options: storm, History: true}}
	for i := range set {
		o := &set[i].Options
		switch {
		case o.Scenario == ResumeStorm:
			o.Label = o.label()
		case set[i].History:
			o.Label = o.label() + ", history on"
		default:
			o.Label = o.label() + ", history off"
		}
	}
	return set
}

// HistoryConfig is a server config file keeping history for rooms of the
// given type: the newest size messages for five minutes.
func HistoryConfig(roomType string, size int) string {
	return fmt.Sprintf("# Written by bench: history for rooms of type %q.\n[logic.history]\n  [[logic.history.rooms]]\n    type = %q\n    size = %d\n    ttl = \"5m\"\n", roomType, roomType, size)
}

// HistorySize is the room history a run needs: resume-storm's missed
// messages must all be kept, and at least 100 (issue 13's example).
func HistorySize(o Options) int { return max(100, o.Messages) }

// RoomType is the type of the room o's devices join.
func RoomType(o Options) string {
	typ, _, _ := push.SplitRoom(o.Room)
	return typ
}
