package queue

import (
	"testing"

	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

func TestKindLabel(t *testing.T) {
	cases := []struct {
		kind common.PushKind
		want string
	}{
		{common.PushKind_KEYS, "keys"},
		{common.PushKind_ROOM, "room"},
		{common.PushKind_BROADCAST, "broadcast"},
		{common.PushKind(99), "unknown"},
	}
	for _, tc := range cases {
		if got := KindLabel(tc.kind); got != tc.want {
			t.Errorf("KindLabel(%v) = %q, want %q", tc.kind, got, tc.want)
		}
	}
}
