package serving

import (
	"net"
	"reflect"
	"testing"
)

func TestDialAddrs(t *testing.T) {
	tests := []struct {
		bound string
		want  []string
	}{
		{"127.0.0.1:3111", []string{"127.0.0.1:3111"}},
		{"10.0.0.5:3111", []string{"10.0.0.5:3111"}},
		{"0.0.0.0:3111", []string{"127.0.0.1:3111"}},
		{"[::]:3111", []string{"127.0.0.1:3111", "[::1]:3111"}},
		{"[::1]:3111", []string{"[::1]:3111"}},
	}
	for _, tt := range tests {
		a, err := net.ResolveTCPAddr("tcp", tt.bound)
		if err != nil {
			t.Fatal(err)
		}
		if got := DialAddrs(a); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DialAddrs(%s) = %v, want %v", tt.bound, got, tt.want)
		}
	}
}
