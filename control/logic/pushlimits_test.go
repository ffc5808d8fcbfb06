package logic

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
	pushsvc "github.com/goim-edge/goim-edge/kitex_gen/push/push"
	"github.com/goim-edge/goim-edge/protocol"
	"github.com/goim-edge/goim-edge/registry"
)

// Over Kitex every caller's mistake arrives as a *push.PushError with
// code -400 (found with errors.As, never by its text), and nothing is
// queued for it; the same limits as over HTTP apply.
func TestKitexPushRefusesMistakes(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, logictest.MemoryStore(t), func(c *Config) { c.MaxBodyBytes, c.MaxTargets = 32, 4 })
	addRoutes(t, h.st, store.Route{Mid: 7, Key: "k7", Server: "edge-a"})
	cli, err := pushsvc.NewClient(registry.ServiceLogic, client.WithHostPorts(serveKitex(t, h.l)), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("hi")
	big := make([]byte, 33)
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"keys op 9", func() error {
			_, err := cli.PushKeys(ctx, &push.PushKeysReq{Op: protocol.OpRaw, Keys: []string{"k7"}, Body: body})
			return err
		}, "operation 9 is reserved"},
		{"keys none", func() error { _, err := cli.PushKeys(ctx, &push.PushKeysReq{Op: 1000, Body: body}); return err }, "keys is required"},
		{"keys over the cap", func() error {
			_, err := cli.PushKeys(ctx, &push.PushKeysReq{Op: 1000, Keys: []string{"a", "b", "c", "d", "e"}, Body: body})
			return err
		}, "5 keys is over the limit of 4"},
		{"keys body too large", func() error {
			_, err := cli.PushKeys(ctx, &push.PushKeysReq{Op: 1000, Keys: []string{"k7"}, Body: big})
			return err
		}, "33 bytes is over the 32 byte limit"},
		{"mids op 8", func() error {
			_, err := cli.PushMids(ctx, &push.PushMidsReq{Op: protocol.OpAuthReply, Mids: []int64{7}, Body: body})
			return err
		}, "operation 8 is reserved"},
		{"mids none", func() error { _, err := cli.PushMids(ctx, &push.PushMidsReq{Op: 1000, Body: body}); return err }, "mids is required"},
		{"mids over the cap", func() error {
			_, err := cli.PushMids(ctx, &push.PushMidsReq{Op: 1000, Mids: []int64{1, 2, 3, 4, 5}, Body: body})
			return err
		}, "5 mids is over the limit of 4"},
		{"mids body too large", func() error {
			_, err := cli.PushMids(ctx, &push.PushMidsReq{Op: 1000, Mids: []int64{7}, Body: big})
			return err
		}, "over the 32 byte limit"},
		{"room op 9", func() error {
			_, err := cli.PushRoom(ctx, &push.PushRoomReq{Op: protocol.OpRaw, Type: "live", Room: "1", Body: body})
			return err
		}, "operation 9 is reserved"},
		{"room empty", func() error {
			_, err := cli.PushRoom(ctx, &push.PushRoomReq{Op: 1000, Type: "live", Body: body})
			return err
		}, "room is required"},
		{"room id too long", func() error {
			_, err := cli.PushRoom(ctx, &push.PushRoomReq{Op: 1000, Type: "live", Room: strings.Repeat("r", 300), Body: body})
			return err
		}, "longer than 256 bytes"},
		{"room body too large", func() error {
			_, err := cli.PushRoom(ctx, &push.PushRoomReq{Op: 1000, Type: "live", Room: "1", Body: big})
			return err
		}, "over the 32 byte limit"},
		{"all op 13", func() error {
			_, err := cli.PushAll(ctx, &push.PushAllReq{Op: protocol.OpChangeRoomReply, Body: body})
			return err
		}, "operation 13 is reserved"},
		{"all body too large", func() error { _, err := cli.PushAll(ctx, &push.PushAllReq{Op: 1000, Body: big}); return err }, "over the 32 byte limit"},
	}
	for _, c := range cases {
		err := c.call()
		var pe *push.PushError
		if !errors.As(err, &pe) || pe.Code != CodeBadRequest || !strings.Contains(pe.Message, c.want) {
			t.Errorf("%s: err = %#v, want PushError -400 saying %q", c.name, err, c.want)
		}
	}
	if got := h.take(t); len(got) != 0 {
		t.Fatalf("refused pushes queued %d messages", len(got))
	}
	// At the limits the same pushes go through.
	if _, err := cli.PushKeys(ctx, &push.PushKeysReq{Op: 1000, Keys: []string{"k7", "b", "c", "d"}, Body: make([]byte, 32)}); err != nil {
		t.Fatalf("push at the limits: %v", err)
	}
	if got := h.take(t); len(got) != 1 || len(got[0].Body) != 32 {
		t.Fatalf("push at the limits queued %d messages", len(got))
	}
}

func TestPushable(t *testing.T) {
	for op := int32(-1); op < 1100; op++ {
		want := op < 0 || (op > 17 && op < 22) || op > 30
		if got := protocol.Pushable(op); got != want {
			t.Errorf("Pushable(%d) = %v, want %v", op, got, want)
		}
	}
}

func TestConfigLimitsValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"zero body limit", func(c *Config) { c.MaxBodyBytes = 0 }, "max_body_bytes 0"},
		{"body limit over the protocol's", func(c *Config) { c.MaxBodyBytes = protocol.MaxPushBody + 1 }, "max_body_bytes"},
		{"zero targets", func(c *Config) { c.MaxTargets = 0 }, "max_targets 0"},
	} {
		c := DefaultConfig()
		tt.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.want)
		}
	}
	c := DefaultConfig()
	if c.MaxBodyBytes != 64<<10 || c.MaxTargets != 1000 {
		t.Fatalf("defaults: max_body_bytes %d, max_targets %d", c.MaxBodyBytes, c.MaxTargets)
	}
}
