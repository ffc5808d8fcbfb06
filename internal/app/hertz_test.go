package app

import (
	"context"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/app/server"
)

// TestRunHertzThenStopAtOnce: a server stopped right after runHertz
// returns really stops and frees its port (Hertz's Shutdown used to miss a
// server still starting, and the caller then waited forever).
func TestRunHertzThenStopAtOnce(t *testing.T) {
	for i := 0; i < 20; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		hz := server.New(server.WithListener(ln), server.WithDisablePrintRoute(true), server.WithExitWaitTime(time.Second))
		s, err := runHertz(hz, ln, discardLog(), "test")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = s.stop(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: stop: %v", i, err)
		}
		requireFree(t, addr)
	}
}

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
		if got := dialAddrs(a); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("dialAddrs(%s) = %v, want %v", tt.bound, got, tt.want)
		}
	}
}
