package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeservice "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

func TestNoInstance(t *testing.T) {
	dial := errors.New("dial tcp 10.0.0.1:3109: connection refused")
	none := kerrors.ErrNoMoreInstance.WithCause(fmt.Errorf("last error: %w", error(nil)))
	tests := []struct {
		name     string
		err      error
		want     string // the message
		noMore   bool   // matches kerrors.ErrNoMoreInstance
		rewrites bool   // matches registry.ErrNoInstance
	}{
		{"nil", nil, "", false, false},
		{"plain", dial, dial.Error(), false, false},
		{"no instance listed", none, "no edge instance available (kitex: no more instances to retry)", true, true},
		{"wrapped", fmt.Errorf("push: %w", none), "no edge instance available (kitex: no more instances to retry)", true, true},
		{"retries ran out", kerrors.ErrNoMoreInstance.WithCause(fmt.Errorf("last error: %w", dial)), "no more instances to retry: last error: " + dial.Error(), true, false},
		{"other kitex error", kerrors.ErrRPCTimeout.WithCause(dial), kerrors.ErrRPCTimeout.WithCause(dial).Error(), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := registry.NoInstance(tt.err, "edge")
			if tt.err == nil {
				if got != nil {
					t.Fatalf("NoInstance(nil) = %v", got)
				}
				return
			}
			if got.Error() != tt.want {
				t.Fatalf("message %q, want %q", got.Error(), tt.want)
			}
			if errors.Is(got, kerrors.ErrNoMoreInstance) != tt.noMore {
				t.Fatalf("errors.Is(ErrNoMoreInstance) = %v, want %v", !tt.noMore, tt.noMore)
			}
			if errors.Is(got, registry.ErrNoInstance) != tt.rewrites {
				t.Fatalf("errors.Is(ErrNoInstance) = %v, want %v", !tt.rewrites, tt.rewrites)
			}
			var de *kerrors.DetailedError
			if errors.As(tt.err, &de) && !errors.As(got, &de) {
				t.Fatalf("errors.As(*kerrors.DetailedError) lost")
			}
			var ne *registry.NoInstanceError
			if errors.As(got, &ne) != tt.rewrites || (tt.rewrites && ne.What != "edge") {
				t.Fatalf("errors.As(*NoInstanceError) = %v (%+v), want %v", !tt.rewrites, ne, tt.rewrites)
			}
		})
	}
}

// TestNoInstanceFromKitex calls through a real Kitex client whose
// discovery lists no instance, and checks that the error it returns is the
// one NoInstance rewrites.
func TestNoInstanceFromKitex(t *testing.T) {
	opts := append(registry.NewResolver(static.New()).ClientOptions(), client.WithRPCTimeout(time.Second))
	cli, err := edgeservice.NewClient(registry.ServiceEdge, opts...)
	if err != nil {
		t.Fatal(err)
	}
	_, raw := cli.Rooms(context.Background(), &edge.RoomsReq{})
	if raw == nil {
		t.Fatal("call without instances succeeded")
	}
	if !strings.Contains(raw.Error(), "%!w(<nil>)") {
		t.Logf("Kitex no longer prints %%!w(<nil>): %q", raw)
	}
	got := registry.NoInstance(raw, "edge")
	if !errors.Is(got, registry.ErrNoInstance) || !errors.Is(got, kerrors.ErrNoMoreInstance) {
		t.Fatalf("NoInstance(%q) = %q: not rewritten", raw, got)
	}
	if strings.Contains(got.Error(), "%!") {
		t.Fatalf("message %q", got)
	}
}
