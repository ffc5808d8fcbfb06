package queue

import (
	"testing"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

func TestTargetKey(t *testing.T) {
	cases := []struct {
		msg  *common.PushMsg
		want string
	}{
		{&common.PushMsg{Kind: common.PushKind_KEYS, Server: "edge-1", Keys: []string{"a"}}, "server:edge-1"},
		{&common.PushMsg{Kind: common.PushKind_ROOM, Room: "live://1000"}, "room:live://1000"},
		{&common.PushMsg{Kind: common.PushKind_BROADCAST, Speed: 10}, "broadcast"},
		{&common.PushMsg{}, "broadcast"},
	}
	for _, tc := range cases {
		if got := TargetKey(tc.msg); got != tc.want {
			t.Errorf("TargetKey(%v) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}
