package edge

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	kitexserver "github.com/cloudwego/kitex/server"
	"github.com/redis/go-redis/v9"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	qmemory "github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeclient "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	logicclient "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
)

// redisCluster is an edge whose logic keeps routes in a real
// redis-server, which the test can flush and restart.
type redisCluster struct {
	edge  *Server
	logic *logicsvc.Logic
	st    *redisstore.Store
	redis *testenv.Server
	rpc   edgeclient.Client
}

func newRedisCluster(t *testing.T, mod func(*Config)) *redisCluster {
	t.Helper()
	rds := testenv.Redis(t)
	scfg := redisstore.DefaultConfig()
	scfg.Addr = rds.Addr
	st, err := redisstore.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	q := qmemory.New(qmemory.DefaultConfig())
	a, err := auth.New(auth.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lcfg := logicsvc.DefaultConfig()
	lcfg.EpochRefresh = 200 * time.Millisecond
	l, err := logicsvc.New(lcfg, logicsvc.Deps{Store: st, Queue: q, Auth: a})
	if err != nil {
		t.Fatal(err)
	}
	lln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lsvr := logicclient.NewServer(l, kitexserver.WithListener(lln), kitexserver.WithExitSignal(never))
	lerr := make(chan error, 1)
	go func() { lerr <- lsvr.Run() }()
	lcli, err := logicclient.NewClient("goim.logic", client.WithHostPorts(lln.Addr().String()), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Node = "edge-redis"
	cfg.TCPAddr, cfg.WSAddr, cfg.RPCAddr = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.TimerTick = 100 * time.Millisecond
	// Renewals are minutes apart: only the epoch can bring routes back
	// within the test's deadline.
	cfg.RouteRenewInterval = 10 * time.Minute
	cfg.RenewOnlineInterval = 10 * time.Minute
	cfg.EpochInterval = 200 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg, lcli)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	rpc, err := edgeclient.NewClient("goim.edge", client.WithHostPorts(e.Addrs().RPC), client.WithRPCTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("edge shutdown: %v", err)
		}
		_ = lsvr.Stop()
		<-lerr
		q.Close()
		_ = st.Close()
	})
	return &redisCluster{edge: e, logic: l, st: st, redis: rds, rpc: rpc}
}

// pushMid does what logic and job do for a push by mid: look the user's
// keys up in the store and push to those on this edge. It returns how
// many connections took the message.
func (rc *redisCluster) pushMid(t *testing.T, mid int64, op int32, body string) int {
	t.Helper()
	ctx := context.Background()
	routes, err := rc.st.KeysByMids(ctx, []int64{mid})
	if err != nil {
		return 0 // Redis restarting
	}
	var keys []string
	for k, srv := range routes {
		if srv == rc.edge.Config().Node {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return 0
	}
	resp, err := rc.rpc.PushKeys(ctx, &edge.PushKeysReq{Keys: keys, Op: op, Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	return int(resp.Delivered)
}

func (rc *redisCluster) flushAll(t *testing.T) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: rc.redis.Addr})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestRoutesRestoredAfterRedisLoss: devices connected through a real edge
// and logic over a real Redis; the Redis loses everything (FLUSHALL, then
// a restart without persistence), and pushes by mid reach every device
// again within seconds, although route renewals are minutes apart. A key
// that reconnected elsewhere meanwhile keeps its newer route.
func TestRoutesRestoredAfterRedisLoss(t *testing.T) {
	rc := newRedisCluster(t, func(c *Config) { c.RestoreBatch = 3; c.RestoreRate = 100 })
	const devices = 8
	clients := make([]*tcpClient, devices)
	for i := range clients {
		clients[i] = dialTCP(t, rc.edge.Addrs().TCP)
		clients[i].auth(token(int64(100+i), fmt.Sprint("k-restore-", i), []string{"live://restore"}, 1000))
	}
	check := func(stage string) {
		t.Helper()
		for i, c := range clients {
			body := fmt.Sprintf("%s-%d", stage, i)
			deadline := time.Now().Add(15 * time.Second)
			for rc.pushMid(t, int64(100+i), 1000, body) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%s: route of mid %d not back within 15s (renewals are 10 min apart)", stage, 100+i)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if f := c.read(); f.Op != 1000 || string(f.Body) != body {
				t.Fatalf("%s: device %d got op %d %q", stage, i, f.Op, f.Body)
			}
		}
	}
	check("before")
	restores0 := counterValue(t, restoresTotal)
	routes0 := counterValue(t, routesRestoredTotal)

	rc.flushAll(t)
	// Another edge takes one key over before this edge restores it.
	if err := rc.st.AddRoute(context.Background(), store.Route{Mid: 107, Key: "k-restore-7", Server: "edge-other"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	clients = clients[:7]
	check("after-flush")
	eventually(t, "a restore counted", func() bool { return counterValue(t, restoresTotal) > restores0 })
	if got := counterValue(t, routesRestoredTotal) - routes0; got < 7 {
		t.Fatalf("routes restored = %v, want at least 7", got)
	}
	srv, err := rc.st.ServersByKeys(context.Background(), []string{"k-restore-7"})
	if err != nil || srv["k-restore-7"] != "edge-other" {
		t.Fatalf("moved key's route = %v, %v; the restore must not take it back", srv, err)
	}
	// Room counts came back at once too (RenewOnline is 10 min apart).
	eventually(t, "room count back", func() bool {
		n, err := rc.logic.RoomOnline(context.Background(), "live", []string{"restore"})
		return err == nil && n["restore"] == devices
	})

	rc.redis.Stop()
	if err := rc.redis.Start(); err != nil {
		t.Fatal(err)
	}
	check("after-restart")
}

// TestStaleEpochIgnored: an epoch that a lagging logic repeats, or one
// the edge has already left behind, does not move the edge's epoch, and
// costs at most one Restore page.
func TestStaleEpochIgnored(t *testing.T) {
	cl := newCluster(t, nil, nil)
	c := dialTCP(t, cl.edge.Addrs().TCP)
	c.auth(token(1, "k-stale", nil))
	w := &cl.edge.epoch
	w.mu.Lock()
	current := w.current
	w.mu.Unlock()
	if current == "" {
		t.Fatal("Connect named no epoch")
	}
	restores0 := counterValue(t, restoresTotal)
	cl.edge.observeEpoch("stale-epoch") // as if a lagging logic answered
	eventually(t, "the stale epoch to be dismissed", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.pending == "" && len(w.left) == 1 && w.left[0] == "stale-epoch"
	})
	w.mu.Lock()
	got := w.current
	w.mu.Unlock()
	if got != current {
		t.Fatalf("epoch moved to %q on a stale answer, want %q", got, current)
	}
	if n := counterValue(t, restoresTotal); n != restores0 {
		t.Fatalf("a stale epoch counted as %v restores", n-restores0)
	}
	// Once left behind, the same epoch is ignored outright.
	cl.edge.observeEpoch("stale-epoch")
	w.mu.Lock()
	pending := w.pending
	w.mu.Unlock()
	if pending != "" {
		t.Fatalf("a superseded epoch is pending again")
	}
	if got := cl.routeServer(t, "k-stale"); got != "edge-test" {
		t.Fatalf("route after the stale restore = %q", got)
	}
}

func TestObserveEpoch(t *testing.T) {
	cases := []struct {
		name                 string
		current              string
		left                 []string
		seen                 string
		wantCurrent, pending string
	}{
		{"first epoch is taken as is", "", nil, "e1", "e1", ""},
		{"empty names nothing", "e1", nil, "", "e1", ""},
		{"same epoch", "e1", nil, "e1", "e1", ""},
		{"new epoch is pending", "e1", nil, "e2", "e1", "e2"},
		{"superseded epoch ignored", "e2", []string{"e1"}, "e1", "e2", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newUnitServer(t, nil)
			s.epoch.kick = make(chan struct{}, 1)
			s.epoch.current, s.epoch.left = tc.current, tc.left
			s.observeEpoch(tc.seen)
			if s.epoch.current != tc.wantCurrent || s.epoch.pending != tc.pending {
				t.Fatalf("current %q pending %q, want %q %q", s.epoch.current, s.epoch.pending, tc.wantCurrent, tc.pending)
			}
			if kicked := len(s.epoch.kick) == 1; kicked != (tc.pending != "") {
				t.Fatalf("kicked = %v", kicked)
			}
		})
	}
}
