package edge

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/kerrors"

	logicclient "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

func TestLogicError(t *testing.T) {
	dial := errors.New("dial tcp 10.0.0.1:3119: connection refused")
	tests := []struct {
		name   string
		err    error
		want   string // the message logged
		noMore bool   // still matches kerrors.ErrNoMoreInstance
	}{
		{"nil", nil, "", false},
		{"plain", dial, dial.Error(), false},
		{"no instance listed", kerrors.ErrNoMoreInstance.WithCause(fmt.Errorf("last error: %w", error(nil))), "edge: no logic instance available (kitex: no more instances to retry)", true},
		{"retries ran out", kerrors.ErrNoMoreInstance.WithCause(fmt.Errorf("last error: %w", dial)), "no more instances to retry: last error: " + dial.Error(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logicError(tt.err)
			if tt.err == nil {
				if got != nil {
					t.Fatalf("logicError(nil) = %v", got)
				}
				return
			}
			if got.Error() != tt.want {
				t.Fatalf("message %q, want %q", got.Error(), tt.want)
			}
			if errors.Is(got, kerrors.ErrNoMoreInstance) != tt.noMore {
				t.Fatalf("errors.Is(ErrNoMoreInstance) = %v, want %v", !tt.noMore, tt.noMore)
			}
		})
	}
}

// TestRenewOnlineWithoutLogicLogsClearly: with no logic instance in the
// registry, the renew-online warning says so instead of printing Kitex's
// "last error: %!w(<nil>)".
func TestRenewOnlineWithoutLogicLogsClearly(t *testing.T) {
	opts := append(registry.NewResolver(static.New()).ClientOptions(), client.WithRPCTimeout(time.Second))
	cli, err := logicclient.NewClient(registry.ServiceLogic, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Node = "edge-nologic"
	e, err := New(cfg, cli)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	e.WithLogger(slog.New(slog.NewTextHandler(&buf, nil)))

	e.renewOnline()

	out := buf.String()
	if !strings.Contains(out, "no logic instance available") || strings.Contains(out, "%!") {
		t.Fatalf("renew online logged %q", out)
	}
}
