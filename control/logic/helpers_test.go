package logic

import (
	"math"
	"reflect"
	"testing"
)

func TestUniqueKeys(t *testing.T) {
	cases := []struct{ in, want []string }{
		{nil, []string{}},
		{[]string{""}, []string{}},
		{[]string{"a", "b", "a", "", "c", "b"}, []string{"a", "b", "c"}},
	}
	for _, c := range cases {
		got := uniqueKeys(c.in)
		if len(got) != len(c.want) || (len(got) > 0 && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("uniqueKeys(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := uniqueMids([]int64{3, 1, 3, 0, 1}); !reflect.DeepEqual(got, []int64{3, 1, 0}) {
		t.Errorf("uniqueMids = %v", got)
	}
}

func TestClampInt32(t *testing.T) {
	cases := map[int64]int32{0: 0, 5: 5, -3: 0, math.MaxInt32: math.MaxInt32, math.MaxInt32 + 1: math.MaxInt32, math.MaxInt64: math.MaxInt32}
	for in, want := range cases {
		if got := clampInt32(in); got != want {
			t.Errorf("clampInt32(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestCode(t *testing.T) {
	if Code(nil) != CodeOK || Code(invalidf("x")) != CodeBadRequest || Code(ErrBusy) != CodeServer {
		t.Fatal("Code maps nil → 0, ErrInvalid → -400, anything else → -500")
	}
}
