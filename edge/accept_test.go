package edge

import (
	"slices"
	"testing"
)

func TestAcceptSet(t *testing.T) {
	tests := []struct {
		name   string
		start  []int32
		add    []int32
		remove []int32
		want   []int32
	}{
		{"empty", nil, nil, nil, nil},
		{"sorted and deduplicated", []int32{1002, 1000, 1000}, nil, nil, []int32{1000, 1002}},
		{"add", []int32{1000}, []int32{1001, 999}, nil, []int32{999, 1000, 1001}},
		{"remove present and absent", []int32{1000, 1001}, nil, []int32{1001, 5}, []int32{1000}},
		{"add then remove", nil, []int32{7, 8}, []int32{7}, []int32{8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAcceptSet(tt.start)
			s.add(tt.add...)
			s.remove(tt.remove...)
			if !slices.Equal([]int32(s), tt.want) && !(len(s) == 0 && len(tt.want) == 0) {
				t.Fatalf("set = %v, want %v", s, tt.want)
			}
			for _, op := range tt.want {
				if !s.has(op) {
					t.Errorf("has(%d) = false", op)
				}
			}
			for _, op := range tt.remove {
				if s.has(op) {
					t.Errorf("has(%d) = true after remove", op)
				}
			}
		})
	}
}

func TestAcceptSetBounded(t *testing.T) {
	var s acceptSet
	for i := range int32(maxAccepts * 2) {
		s.add(i)
	}
	if len(s) != maxAccepts {
		t.Fatalf("len = %d, want %d", len(s), maxAccepts)
	}
}

func TestParseOps(t *testing.T) {
	tests := []struct {
		body string
		want []int32
	}{
		{"", nil},
		{"1000", []int32{1000}},
		{"1000,1001, 1002", []int32{1000, 1001, 1002}},
		{"1000,x,,1002", []int32{1000, 1002}},
		{"99999999999", nil},
		{"-5", []int32{-5}},
	}
	for _, tt := range tests {
		if got := parseOps([]byte(tt.body)); !slices.Equal(got, tt.want) {
			t.Errorf("parseOps(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func FuzzParseOps(f *testing.F) {
	f.Add([]byte("1000,1001"))
	f.Add([]byte(",,,-1,2147483647,2147483648"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var s acceptSet
		s.add(parseOps(body)...)
		if !slices.IsSorted([]int32(s)) {
			t.Fatalf("set not sorted: %v", s)
		}
		if len(s) > maxAccepts {
			t.Fatalf("set too large: %d", len(s))
		}
	})
}
