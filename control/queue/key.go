package queue

import "github.com/goim-edge/goim-edge/kitex_gen/common"

// TargetKey names the target whose messages must stay in order: the edge
// for key pushes (so pushes to one device key stay in order), the room for
// room pushes, and one shared key for broadcasts. Queues partition by it
// (Kafka record key, consumer lanes) so order holds per target while
// different targets proceed in parallel.
func TargetKey(m *common.PushMsg) string {
	switch m.GetKind() {
	case common.PushKind_KEYS:
		return "server:" + m.GetServer()
	case common.PushKind_ROOM:
		return "room:" + m.GetRoom()
	default:
		return "broadcast"
	}
}
