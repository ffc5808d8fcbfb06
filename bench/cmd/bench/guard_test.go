package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/bench/procstat"
)

func TestMemoryGuard(t *testing.T) {
	m, err := procstat.Machine()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		min   uint64
		stops bool
	}{
		{"off", 0, false},
		{"below what is free", 1 << 20, false},
		{"more than the machine has", m.Total + 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, stop := memoryGuard(context.Background(), tc.min)
			defer stop()
			// A guard that must not fire gets four checks to prove it; one
			// that must, a generous deadline.
			wait := 2 * time.Second
			if tc.stops {
				wait = 30 * time.Second
			}
			select {
			case <-ctx.Done():
				cause := context.Cause(ctx)
				if !tc.stops || !errors.Is(cause, errLowMemory) || !strings.Contains(cause.Error(), "TCP sockets") {
					t.Fatalf("stopped with %v", cause)
				}
			case <-time.After(wait):
				if tc.stops {
					t.Fatal("the guard did not stop a run the machine cannot hold")
				}
			}
		})
	}
}
