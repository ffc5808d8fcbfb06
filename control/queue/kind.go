package queue

import "github.com/goim-edge/goim-edge/kitex_gen/common"

// KindLabel names a push kind the way metrics labels and logs spell it on
// both sides of the queue (logic's enqueue counters, job's delivery
// counters), so the two can be compared: "keys", "room", "broadcast", or
// "unknown" for a value this build does not know.
func KindLabel(k common.PushKind) string {
	switch k {
	case common.PushKind_KEYS:
		return "keys"
	case common.PushKind_ROOM:
		return "room"
	case common.PushKind_BROADCAST:
		return "broadcast"
	}
	return "unknown"
}
