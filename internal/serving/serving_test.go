package serving

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestWait(t *testing.T) {
	closed := make(chan struct{})
	close(closed)
	tests := []struct {
		name    string
		done    chan struct{}
		failFor int // probe fails this many times, then succeeds
		want    string
	}{
		{"answers at once", make(chan struct{}), 0, ""},
		{"answers after a few tries", make(chan struct{}), 3, ""},
		{"server ended", closed, 1 << 30, "ended while starting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Wait("test server", tt.done, func(context.Context) error {
				calls++
				if calls <= tt.failFor {
					return errors.New("not yet")
				}
				return nil
			})
			if tt.want == "" && err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Wait = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

type closer struct{ closed bool }

func (c *closer) Close() error { c.closed = true; return nil }

func TestCloseClient(t *testing.T) {
	c := &closer{}
	CloseClient(c)
	if !c.closed {
		t.Fatal("a client with Close was not closed")
	}
	CloseClient(struct{}{}) // no Close: nothing to do, no panic
}
