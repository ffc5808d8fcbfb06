package serving

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cloudwego/kitex/client"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeservice "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
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

// A generic Kitex client of a generated service is really closed: Kitex
// refuses (panics on) a call on a closed client. The generated clients
// cannot be closed at all, which is why CloseClient takes this one.
func TestCloseClientClosesARealClient(t *testing.T) {
	c, err := client.NewClient(edgeservice.NewServiceInfoForClient(), client.WithDestService("goim.edge"), client.WithHostPorts("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CloseClient(c); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a call on the closed client went through")
		}
	}()
	_ = c.Call(context.Background(), "Rooms", &edge.EdgeRoomsArgs{Req: &edge.RoomsReq{}}, &edge.EdgeRoomsResult{})
}
