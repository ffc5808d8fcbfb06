package closing

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
)

func TestContext(t *testing.T) {
	tests := []struct {
		name string
		// act runs after Context returned; it must end ctx one way or another.
		act func(parent context.CancelFunc, closed chan struct{})
	}{
		{"close ends the run", func(_ context.CancelFunc, closed chan struct{}) { close(closed) }},
		{"parent ends the run", func(parent context.CancelFunc, _ chan struct{}) { parent() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, stopParent := context.WithCancel(context.Background())
			defer stopParent()
			closed := make(chan struct{})
			ctx, cancel, err := Context(parent, closed)
			if err != nil {
				t.Fatal(err)
			}
			defer cancel()
			if ctx.Err() != nil {
				t.Fatal("context ended before anything happened")
			}
			tc.act(stopParent, closed)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("context still running")
			}
		})
	}
}

func TestContextAfterClose(t *testing.T) {
	closed := make(chan struct{})
	close(closed)
	ctx, cancel, err := Context(context.Background(), closed)
	if !errors.Is(err, queue.ErrClosed) || ctx != nil || cancel != nil {
		t.Fatalf("Context after close = %v, %v, %v; want queue.ErrClosed", ctx, cancel != nil, err)
	}
}
