package logic

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

func TestOnline(t *testing.T) {
	logictest.EachStore(t, testOnline)
}

func testOnline(t *testing.T, open logictest.Opener) {
	ctx := context.Background()
	h := newHarness(t, open(t), nil)

	a, err := h.l.RenewOnline(ctx, &logic.RenewOnlineReq{
		Server:    "edge-a",
		RoomCount: map[string]int32{"live://1000": 3, "live://2000": 1, "test://1": 5, "live://empty": 0},
		ConnCount: 9, IpCount: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantA := map[string]int32{"live://1000": 3, "live://2000": 1, "test://1": 5, "live://empty": 0}
	if !reflect.DeepEqual(a.AllRoomCount, wantA) {
		t.Fatalf("edge-a counts = %v, want %v", a.AllRoomCount, wantA)
	}
	b, err := h.l.RenewOnline(ctx, &logic.RenewOnlineReq{
		Server:    "edge-b",
		RoomCount: map[string]int32{"live://1000": 2, "live://3000": 7},
		ConnCount: 9, IpCount: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each edge hears the cluster-wide count of its own rooms.
	wantB := map[string]int32{"live://1000": 5, "live://3000": 7}
	if !reflect.DeepEqual(b.AllRoomCount, wantB) {
		t.Fatalf("edge-b counts = %v, want %v", b.AllRoomCount, wantB)
	}

	top, err := h.l.TopRooms(ctx, "live", 10)
	if err != nil {
		t.Fatal(err)
	}
	wantTop := []RoomCount{{"3000", 7}, {"1000", 5}, {"2000", 1}}
	if !reflect.DeepEqual(top, wantTop) {
		t.Fatalf("top = %v, want %v", top, wantTop)
	}
	if top, _ := h.l.TopRooms(ctx, "live", 2); len(top) != 2 || top[1].RoomID != "1000" {
		t.Fatalf("top 2 = %v", top)
	}
	if top, err := h.l.TopRooms(ctx, "none", 5); err != nil || top == nil || len(top) != 0 {
		t.Fatalf("top of unknown type = %#v, %v; want empty, non-nil", top, err)
	}

	rooms, err := h.l.RoomOnline(ctx, "live", []string{"1000", "3000", "9999"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"1000": 5, "3000": 7, "9999": 0}; !reflect.DeepEqual(rooms, want) {
		t.Fatalf("room counts = %v, want %v", rooms, want)
	}

	tot, err := h.l.TotalOnline(ctx)
	if err != nil || tot != (Totals{Conns: 18, IPs: 7}) {
		t.Fatalf("totals = %+v, %v", tot, err)
	}

	// A renewed report replaces the edge's previous one.
	if _, err := h.l.RenewOnline(ctx, &logic.RenewOnlineReq{Server: "edge-b", RoomCount: map[string]int32{"live://1000": 1}, ConnCount: 1, IpCount: 1}); err != nil {
		t.Fatal(err)
	}
	c, err := h.l.RenewOnline(ctx, &logic.RenewOnlineReq{Server: "edge-a", RoomCount: map[string]int32{"live://1000": 3, "live://3000": 0}, ConnCount: 3, IpCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int32{"live://1000": 4, "live://3000": 0}; !reflect.DeepEqual(c.AllRoomCount, want) {
		t.Fatalf("after renewals = %v, want %v", c.AllRoomCount, want)
	}

	for _, bad := range []struct {
		typ   string
		limit int
	}{{"", 1}, {"live", 0}, {"live", -1}} {
		if _, err := h.l.TopRooms(ctx, bad.typ, bad.limit); !errors.Is(err, ErrInvalid) {
			t.Errorf("TopRooms(%q, %d) err = %v", bad.typ, bad.limit, err)
		}
	}
	if _, err := h.l.RoomOnline(ctx, "live", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("RoomOnline without rooms: %v", err)
	}
	if _, err := h.l.RoomOnline(ctx, "", []string{"1"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("RoomOnline without type: %v", err)
	}
}

// A dead edge's counts age out after OnlineTTL.
func TestOnlineAgesOut(t *testing.T) {
	logictest.EachStore(t, func(t *testing.T, open logictest.Opener) {
		ctx := context.Background()
		h := newHarness(t, open(t), func(c *Config) { c.OnlineTTL = time.Second })
		if _, err := h.l.RenewOnline(ctx, &logic.RenewOnlineReq{Server: "dead", RoomCount: map[string]int32{"live://1": 4}, ConnCount: 4, IpCount: 2}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			rooms, err := h.l.RoomOnline(ctx, "live", []string{"1"})
			if err != nil {
				t.Fatal(err)
			}
			tot, err := h.l.TotalOnline(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rooms["1"] == 0 && tot == (Totals{}) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("dead edge still counted: rooms %v totals %+v", rooms, tot)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
