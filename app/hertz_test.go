package app

import (
	"context"
	"net"
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
		err = s.Stop(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: stop: %v", i, err)
		}
		requireFree(t, addr)
	}
}
