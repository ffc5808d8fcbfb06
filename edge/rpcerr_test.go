package edge

import (
	"context"
	"errors"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

// A request that is its own fault reaches a real Kitex client as
// *edge.EdgeError with code 400 (errors.As, not the text), so job can
// treat it as poison; it delivers nothing, and the edge keeps serving.
func TestRPCRefusesPoisonWithEdgeError(t *testing.T) {
	cl := newCluster(t, nil, nil)
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.auth(token(1, "k-poison", []string{"live://1"}, 1000, 1001, 9, 8))
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"keys op 9", func() error {
			_, err := cl.rpc.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"k-poison"}, Op: protocol.OpRaw, Body: []byte("x")})
			return err
		}, "op 9"},
		{"keys op 8", func() error {
			_, err := cl.rpc.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"k-poison"}, Op: protocol.OpAuthReply, Body: []byte("x")})
			return err
		}, "op 8"},
		{"keys none", func() error {
			_, err := cl.rpc.PushKeys(ctx, &edge.PushKeysReq{Op: 1000, Body: []byte("x")})
			return err
		}, "keys are required"},
		{"room empty id", func() error {
			_, err := cl.rpc.PushRoom(ctx, &edge.PushRoomReq{Msgs: msgs(1000, "x")})
			return err
		}, "room is required"},
		{"room id too long", func() error {
			_, err := cl.rpc.PushRoom(ctx, &edge.PushRoomReq{Room: "live://" + strings.Repeat("r", protocol.MaxRoomID), Msgs: msgs(1000, "x")})
			return err
		}, "too long"},
		{"room no msgs", func() error {
			_, err := cl.rpc.PushRoom(ctx, &edge.PushRoomReq{Room: "live://1"})
			return err
		}, "msgs are required"},
		{"room op 9 in a batch", func() error {
			_, err := cl.rpc.PushRoom(ctx, &edge.PushRoomReq{Room: "live://1", Msgs: append(msgs(1000, "ok"), msgs(protocol.OpRaw, "bad")...)})
			return err
		}, "msgs[1]"},
		{"room op 13", func() error {
			_, err := cl.rpc.PushRoom(ctx, &edge.PushRoomReq{Room: "live://1", Msgs: msgs(protocol.OpChangeRoomReply, "bad")})
			return err
		}, "op 13"},
		{"broadcast op 9", func() error {
			_, err := cl.rpc.Broadcast(ctx, &edge.BroadcastReq{Op: protocol.OpRaw, Body: []byte("x")})
			return err
		}, "op 9"},
		{"broadcast op 0", func() error {
			_, err := cl.rpc.Broadcast(ctx, &edge.BroadcastReq{Op: 0, Body: []byte("x")})
			return err
		}, "op 0"},
		{"broadcast negative speed", func() error {
			_, err := cl.rpc.Broadcast(ctx, &edge.BroadcastReq{Op: 1000, Body: []byte("x"), Speed: -1})
			return err
		}, "speed -1"},
		{"drain negative rate", func() error {
			_, err := cl.rpc.Drain(ctx, &edge.DrainReq{Rate: -5})
			return err
		}, "rate -5"},
	}
	refusedBefore := refusedCount(t)
	for _, tc := range cases {
		err := tc.call()
		var ee *edge.EdgeError
		if !errors.As(err, &ee) || ee.Code != CodeBadRequest || !strings.Contains(ee.Message, tc.want) {
			t.Errorf("%s: err = %#v, want *edge.EdgeError 400 saying %q", tc.name, err, tc.want)
		}
	}
	if got := refusedCount(t) - refusedBefore; got != float64(len(cases)) {
		t.Errorf("goim_edge_rpc_refused_total rose by %v, want %d", got, len(cases))
	}
	if cl.edge.Stats().Draining {
		t.Fatal("a refused Drain left the edge draining")
	}

	// None of it reached the device, and the edge still delivers: the
	// next frame the device reads is the good push.
	resp, err := cl.rpc.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"k-poison"}, Op: 1001, Body: []byte("after")})
	if err != nil || resp.Delivered != 1 {
		t.Fatalf("PushKeys after the refusals = %v, %v", resp, err)
	}
	if f := c.read(); f.Op != 1001 || string(f.Body) != "after" {
		t.Fatalf("device read op %d body %q, want the good push", f.Op, f.Body)
	}
	// Ops the protocol leaves to callers (the fork's 18–21, 31–999, ≥ 1000)
	// are not refused.
	for _, op := range []int32{18, 31, 999} {
		if _, err := cl.rpc.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"k-poison"}, Op: op, Body: []byte("x")}); err != nil {
			t.Errorf("PushKeys op %d: %v", op, err)
		}
	}
}

// A body over protocol.MaxPushBody is the request's fault too. Checked on
// the handler: whether such a request gets through the Kitex payload limit
// to the handler at all is the server's option, not this rule.
func TestHandlerRefusesOversizedBody(t *testing.T) {
	h := &Handler{srv: newUnitServer(t, nil)}
	big := make([]byte, protocol.MaxPushBody+1)
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"keys": func() error {
			_, err := h.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"k"}, Op: 1000, Body: big})
			return err
		},
		"room": func() error {
			_, err := h.PushRoom(ctx, &edge.PushRoomReq{Room: "live://1", Msgs: []*edge.RoomMsg{{Op: 1000, Body: big}}})
			return err
		},
		"broadcast": func() error {
			_, err := h.Broadcast(ctx, &edge.BroadcastReq{Op: 1000, Body: big})
			return err
		},
	} {
		err := call()
		var ee *edge.EdgeError
		if !errors.As(err, &ee) || ee.Code != CodeBadRequest || !strings.Contains(ee.Message, "too large") {
			t.Errorf("%s: err = %#v, want EdgeError 400 (too large)", name, err)
		}
	}
	if _, err := h.PushKeys(ctx, &edge.PushKeysReq{Keys: []string{"k"}, Op: 1000, Body: big[:protocol.MaxPushBody]}); err != nil {
		t.Fatalf("body at the limit: %v", err)
	}
}

// refusedCount is goim_edge_rpc_refused_total summed over methods.
func refusedCount(t *testing.T) float64 {
	t.Helper()
	var sum float64
	for _, m := range []string{"PushKeys", "PushRoom", "Broadcast", "Drain"} {
		var d dto.Metric
		if err := refusedRPCTotal.WithLabelValues(m).Write(&d); err != nil {
			t.Fatal(err)
		}
		sum += d.GetCounter().GetValue()
	}
	return sum
}
