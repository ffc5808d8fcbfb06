package logic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/cloudwego/kitex/server"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
	logicsvc "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
	pushsvc "github.com/goim-edge/goim-edge/kitex_gen/push/push"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

// serveKitex runs both services of l on one real Kitex server on a free
// loopback port and returns its address.
func serveKitex(t testing.TB, l *Logic) string {
	t.Helper()
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: testenv.FreePort(t)}
	svr := server.NewServer(server.WithServiceAddr(addr), server.WithExitWaitTime(0))
	if err := l.RegisterKitex(svr); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- svr.Run() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("kitex server: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kitex server on %s not up: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { _ = svr.Stop() })
	return addr.String()
}

func TestKitexLogicService(t *testing.T) {
	logictest.EachStore(t, func(t *testing.T, open logictest.Opener) {
		ctx := context.Background()
		h := newHarness(t, open(t), nil)
		addr := serveKitex(t, h.l)
		cli, err := logicsvc.NewClient(registry.ServiceLogic, client.WithHostPorts(addr), client.WithRPCTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}

		conn, err := cli.Connect(ctx, &logic.ConnectReq{Server: "edge-a", Token: []byte(`{"mid":5,"key":"kx","room_id":"live://1","accepts":[1000]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if conn.Mid != 5 || conn.Key != "kx" || !reflect.DeepEqual(conn.Rooms, []string{"live://1"}) || conn.HeartbeatMs != 480000 {
			t.Fatalf("Connect over kitex = %+v", conn)
		}
		// A refusal is an answer, not a fault: the client gets the IDL
		// exception, and the server logs no handler error for it.
		var kitexLog testenv.SyncBuffer
		klog.SetOutput(&kitexLog)
		_, err = cli.Connect(ctx, &logic.ConnectReq{Server: "edge-a", Token: []byte(`{"mid":"x5"}`)})
		klog.SetOutput(os.Stderr)
		var ar *logic.AuthRefused
		if !errors.As(err, &ar) || !IsRefused(err) {
			t.Fatalf("refused Connect over kitex: err = %v (%T), want *logic.AuthRefused", err, err)
		}
		if out := kitexLog.String(); strings.Contains(out, "processing request error") {
			t.Errorf("a refused Connect logged a Kitex handler error: %s", out)
		}
		if _, err := cli.Heartbeat(ctx, &logic.HeartbeatReq{Mid: 5, Key: "kx", Server: "edge-a"}); err != nil {
			t.Fatal(err)
		}
		on, err := cli.RenewOnline(ctx, &logic.RenewOnlineReq{Server: "edge-a", RoomCount: map[string]int32{"live://1": 1}, ConnCount: 1, IpCount: 1})
		if err != nil || on.AllRoomCount["live://1"] != 1 {
			t.Fatalf("RenewOnline over kitex = %v, %v", on, err)
		}
		if _, err := cli.Receive(ctx, &logic.ReceiveReq{Mid: 5, Key: "kx", Op: 4, Body: []byte("up"), Server: "edge-a"}); err != nil {
			t.Fatal(err)
		}
		stale, err := cli.Disconnect(ctx, &logic.DisconnectReq{Mid: 5, Key: "kx", Server: "edge-old"})
		if err != nil || stale.Removed {
			t.Fatalf("Disconnect from another edge = %v, %v", stale, err)
		}
		dis, err := cli.Disconnect(ctx, &logic.DisconnectReq{Mid: 5, Key: "kx", Server: "edge-a"})
		if err != nil || !dis.Removed {
			t.Fatalf("Disconnect = %v, %v", dis, err)
		}
	})
}

func TestKitexPushService(t *testing.T) {
	logictest.EachStore(t, func(t *testing.T, open logictest.Opener) {
		ctx := context.Background()
		edges := static.New(registry.Instance{Service: registry.ServiceEdge, Node: "edge-a", Addrs: registry.Addrs{TCP: "10.0.0.1:3101"}})
		h := newHarness(t, open(t), nil, func(d *Deps) { d.Discovery = edges })
		addr := serveKitex(t, h.l)
		cli, err := pushsvc.NewClient(registry.ServiceLogic, client.WithHostPorts(addr), client.WithRPCTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		addRoutes(t, h.st, store.Route{Mid: 9, Key: "k9", Server: "edge-a"})

		r, err := cli.PushKeys(ctx, &push.PushKeysReq{Op: 1000, Keys: []string{"k9", "ghost"}, Body: []byte("hi")})
		if err != nil || len(r.MsgIds) != 1 {
			t.Fatalf("PushKeys = %v, %v", r, err)
		}
		if _, err := cli.PushMids(ctx, &push.PushMidsReq{Op: 1000, Mids: []int64{9}, Body: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.PushRoom(ctx, &push.PushRoomReq{Op: 1000, Type: "live", Room: "1", Body: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.PushAll(ctx, &push.PushAllReq{Op: 1000, Speed: 10, Body: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
		got := h.take(t)
		kinds := []common.PushKind{}
		for _, m := range got {
			kinds = append(kinds, m.Kind)
		}
		if want := []common.PushKind{common.PushKind_KEYS, common.PushKind_KEYS, common.PushKind_ROOM, common.PushKind_BROADCAST}; !reflect.DeepEqual(kinds, want) {
			t.Fatalf("enqueued kinds %v, want %v", kinds, want)
		}
		if got[0].Id != r.MsgIds[0] {
			t.Fatalf("PushKeys returned id %s, queued %s", r.MsgIds[0], got[0].Id)
		}

		_, err = cli.PushRoom(ctx, &push.PushRoomReq{Op: 0, Type: "live", Room: "1", Body: []byte("hi")})
		var pe *push.PushError
		if !errors.As(err, &pe) || pe.Code != CodeBadRequest {
			t.Fatalf("PushRoom op 0: err = %#v, want PushError -400", err)
		}

		if _, err := h.l.RenewOnline(ctx, &logic.RenewOnlineReq{Server: "edge-a", RoomCount: map[string]int32{"live://1": 2, "live://2": 3}, ConnCount: 5, IpCount: 2}); err != nil {
			t.Fatal(err)
		}
		top, err := cli.OnlineTop(ctx, &push.OnlineTopReq{Type: "live", Limit: 5})
		if err != nil || len(top.Rooms) != 2 || top.Rooms[0].RoomId != "2" || top.Rooms[0].Count != 3 {
			t.Fatalf("OnlineTop = %v, %v", top, err)
		}
		room, err := cli.OnlineRoom(ctx, &push.OnlineRoomReq{Type: "live", Rooms: []string{"1", "3"}})
		if err != nil || !reflect.DeepEqual(room.Counts, map[string]int64{"1": 2, "3": 0}) {
			t.Fatalf("OnlineRoom = %v, %v", room, err)
		}
		tot, err := cli.OnlineTotal(ctx, &push.OnlineTotalReq{})
		if err != nil || tot.ConnCount != 5 || tot.IpCount != 2 {
			t.Fatalf("OnlineTotal = %v, %v", tot, err)
		}
		if _, err := cli.OnlineTop(ctx, &push.OnlineTopReq{Type: "live"}); !errors.As(err, &pe) || pe.Code != CodeBadRequest {
			t.Fatalf("OnlineTop without limit: %v", err)
		}
		ins, err := cli.NodesInstances(ctx, &push.NodesInstancesReq{})
		if err != nil {
			t.Fatal(err)
		}
		var list []registry.Instance
		if err := json.Unmarshal([]byte(ins.InstancesJson), &list); err != nil || len(list) != 1 || list[0].Node != "edge-a" {
			t.Fatalf("NodesInstances = %s (%v)", ins.InstancesJson, err)
		}
		nw, err := cli.NodesWeighted(ctx, &push.NodesWeightedReq{Platform: "android", ClientIp: "1.2.3.4"})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(nw.Nodes) != "[10.0.0.1]" {
			t.Fatalf("NodesWeighted nodes = %v", nw.Nodes)
		}
	})
}
