package logic

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

func addRoutes(t testing.TB, st store.Store, routes ...store.Route) {
	t.Helper()
	for _, r := range routes {
		if err := st.AddRoute(context.Background(), r, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEnqueue(t *testing.T) {
	logictest.EachStore(t, testEnqueue)
}

func testEnqueue(t *testing.T, open logictest.Opener) {
	ctx := context.Background()
	h := newHarness(t, open(t), func(c *Config) { c.MaxBodyBytes, c.MaxTargets = 16, 5 })
	addRoutes(t, h.st,
		store.Route{Mid: 1, Key: "k1", Server: "edge-a"},
		store.Route{Mid: 1, Key: "k2", Server: "edge-b"},
		store.Route{Mid: 2, Key: "k3", Server: "edge-a"},
	)
	body := []byte("hello")

	t.Run("keys become one message per edge", func(t *testing.T) {
		before := time.Now().UnixNano()
		ids, err := h.l.EnqueueKeys(ctx, 1000, []string{"k1", "k2", "k3", "k1", "nobody"}, body)
		if err != nil {
			t.Fatal(err)
		}
		got := h.take(t)
		if len(got) != 2 || len(ids) != 2 {
			t.Fatalf("got %d messages, ids %v; want 2", len(got), ids)
		}
		want := map[string][]string{"edge-a": {"k1", "k3"}, "edge-b": {"k2"}}
		for i, m := range got {
			if m.Kind != common.PushKind_KEYS || m.Op != 1000 || !bytes.Equal(m.Body, body) {
				t.Fatalf("message %d = %+v", i, m)
			}
			if !reflect.DeepEqual(m.Keys, want[m.Server]) {
				t.Fatalf("edge %s keys = %v, want %v", m.Server, m.Keys, want[m.Server])
			}
			if m.Id == "" || m.EnqueuedUnixNano < before {
				t.Fatalf("message %d lacks id or enqueue time: %+v", i, m)
			}
		}
		if got[0].Id == got[1].Id {
			t.Fatal("two messages share an id")
		}
	})

	t.Run("mids reach every key of the user", func(t *testing.T) {
		if _, err := h.l.EnqueueMids(ctx, 1001, []int64{1, 1, 99}, body); err != nil {
			t.Fatal(err)
		}
		got := h.take(t)
		servers := map[string][]string{}
		for _, m := range got {
			servers[m.Server] = m.Keys
		}
		want := map[string][]string{"edge-a": {"k1"}, "edge-b": {"k2"}}
		if !reflect.DeepEqual(servers, want) {
			t.Fatalf("mids push = %v, want %v", servers, want)
		}
	})

	t.Run("unknown targets enqueue nothing and are no error", func(t *testing.T) {
		ids, err := h.l.EnqueueKeys(ctx, 1000, []string{"ghost"}, body)
		if err != nil || len(ids) != 0 {
			t.Fatalf("ids %v err %v", ids, err)
		}
		if _, err := h.l.EnqueueMids(ctx, 1000, []int64{404}, body); err != nil {
			t.Fatal(err)
		}
		if got := h.take(t); len(got) != 0 {
			t.Fatalf("enqueued %d messages for unknown targets", len(got))
		}
	})

	t.Run("room is one message", func(t *testing.T) {
		ids, err := h.l.EnqueueRoom(ctx, 1002, "live", "1000", body)
		if err != nil {
			t.Fatal(err)
		}
		got := h.take(t)
		if len(got) != 1 || got[0].Kind != common.PushKind_ROOM || got[0].Room != "live://1000" || got[0].Id != ids[0] {
			t.Fatalf("room push = %+v (ids %v)", got, ids)
		}
	})

	t.Run("broadcast is one message with its speed", func(t *testing.T) {
		if _, err := h.l.EnqueueAll(ctx, 1003, 500, body); err != nil {
			t.Fatal(err)
		}
		got := h.take(t)
		if len(got) != 1 || got[0].Kind != common.PushKind_BROADCAST || got[0].Speed != 500 || got[0].Op != 1003 {
			t.Fatalf("broadcast = %+v", got)
		}
	})

	t.Run("invalid requests", func(t *testing.T) {
		cases := []struct {
			name string
			call func() error
			want string
		}{
			{"no keys", func() error { _, err := h.l.EnqueueKeys(ctx, 1000, nil, body); return err }, "keys is required"},
			{"blank keys", func() error { _, err := h.l.EnqueueKeys(ctx, 1000, []string{""}, body); return err }, "keys is required"},
			{"keys empty body", func() error { _, err := h.l.EnqueueKeys(ctx, 1000, []string{"k1"}, nil); return err }, "body is empty"},
			{"no mids", func() error { _, err := h.l.EnqueueMids(ctx, 1000, nil, body); return err }, "mids is required"},
			{"mids empty body", func() error { _, err := h.l.EnqueueMids(ctx, 1000, []int64{1}, []byte{}); return err }, "body is empty"},
			{"keys op 9", func() error { _, err := h.l.EnqueueKeys(ctx, 9, []string{"k1"}, body); return err }, "operation 9 is reserved"},
			{"keys op 9 unknown key", func() error { _, err := h.l.EnqueueKeys(ctx, 9, []string{"ghost"}, body); return err }, "operation 9 is reserved"},
			{"keys over the cap", func() error {
				_, err := h.l.EnqueueKeys(ctx, 1000, []string{"k1", "k2", "k3", "k1", "k2", "k3"}, body)
				return err
			}, "6 keys is over the limit of 5"},
			{"keys too long", func() error {
				_, err := h.l.EnqueueKeys(ctx, 1000, []string{strings.Repeat("k", 257)}, body)
				return err
			}, "longer than 256 bytes"},
			{"keys body too large", func() error { _, err := h.l.EnqueueKeys(ctx, 1000, []string{"k1"}, make([]byte, 17)); return err }, "17 bytes is over the 16 byte limit"},
			{"mids op 8", func() error { _, err := h.l.EnqueueMids(ctx, 8, []int64{1}, body); return err }, "operation 8 is reserved"},
			{"mids over the cap", func() error { _, err := h.l.EnqueueMids(ctx, 1000, []int64{1, 2, 3, 4, 5, 6}, body); return err }, "6 mids is over the limit of 5"},
			{"mids body too large", func() error { _, err := h.l.EnqueueMids(ctx, 1000, []int64{1}, make([]byte, 17)); return err }, "over the 16 byte limit"},
			{"room op 0", func() error { _, err := h.l.EnqueueRoom(ctx, 0, "live", "1", body); return err }, "operation 0 is reserved"},
			{"room op 9", func() error { _, err := h.l.EnqueueRoom(ctx, 9, "live", "1", body); return err }, "operation 9 is reserved"},
			{"room id too long", func() error { _, err := h.l.EnqueueRoom(ctx, 1000, "live", strings.Repeat("r", 250), body); return err }, "longer than 256 bytes"},
			{"room body too large", func() error { _, err := h.l.EnqueueRoom(ctx, 1000, "live", "1", make([]byte, 17)); return err }, "over the 16 byte limit"},
			{"room no type", func() error { _, err := h.l.EnqueueRoom(ctx, 1000, "", "1", body); return err }, "type is required"},
			{"room no room", func() error { _, err := h.l.EnqueueRoom(ctx, 1000, "live", "", body); return err }, "room is required"},
			{"room type with ://", func() error { _, err := h.l.EnqueueRoom(ctx, 1000, "a://b", "1", body); return err }, "must not contain"},
			{"room empty body", func() error { _, err := h.l.EnqueueRoom(ctx, 1000, "live", "1", nil); return err }, "body is empty"},
			{"all op 0", func() error { _, err := h.l.EnqueueAll(ctx, 0, 0, body); return err }, "operation 0 is reserved"},
			{"all op 16", func() error { _, err := h.l.EnqueueAll(ctx, 16, 0, body); return err }, "operation 16 is reserved"},
			{"all body too large", func() error { _, err := h.l.EnqueueAll(ctx, 1000, 0, make([]byte, 17)); return err }, "over the 16 byte limit"},
			{"all negative speed", func() error { _, err := h.l.EnqueueAll(ctx, 1000, -1, body); return err }, "speed"},
			{"all empty body", func() error { _, err := h.l.EnqueueAll(ctx, 1000, 0, nil); return err }, "body is empty"},
		}
		for _, c := range cases {
			err := c.call()
			if !errors.Is(err, ErrInvalid) || Code(err) != CodeBadRequest || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: err = %v, want invalid %q", c.name, err, c.want)
			}
		}
		if got := h.take(t); len(got) != 0 {
			t.Fatalf("invalid requests enqueued %d messages", len(got))
		}
	})
}

func TestEnqueueQueueDownIsServerError(t *testing.T) {
	h := newHarness(t, logictest.MemoryStore(t), nil)
	addRoutes(t, h.st, store.Route{Mid: 1, Key: "k1", Server: "edge-a"})
	h.q.Close()
	for name, call := range map[string]func() error{
		"keys": func() error {
			_, err := h.l.EnqueueKeys(context.Background(), 1000, []string{"k1"}, []byte("x"))
			return err
		},
		"room": func() error {
			_, err := h.l.EnqueueRoom(context.Background(), 1000, "live", "1", []byte("x"))
			return err
		},
		"all": func() error { _, err := h.l.EnqueueAll(context.Background(), 1000, 0, []byte("x")); return err },
	} {
		if err := call(); err == nil || Code(err) != CodeServer {
			t.Errorf("%s with closed queue: err = %v, want a server error", name, err)
		}
	}
}

func TestRoomID(t *testing.T) {
	cases := []struct {
		typ, room, want string
		ok              bool
	}{
		{"live", "1000", "live://1000", true},
		{"test", "1", "test://1", true},
		{"live", "a://b", "live://a://b", true},
		{"", "1", "", false},
		{"live", "", "", false},
		{"x://y", "1", "", false},
	}
	for _, c := range cases {
		got, err := RoomID(c.typ, c.room)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("RoomID(%q, %q) = %q, %v", c.typ, c.room, got, err)
		}
	}
}
