package job_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	hertzserver "github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/kitex/client"
	kitexserver "github.com/cloudwego/kitex/server"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/goim-edge/goim-edge/control/job"
	"github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/httpapi"
	storemem "github.com/goim-edge/goim-edge/control/logic/store/memory"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/kafkaq"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/edge"
	"github.com/goim-edge/goim-edge/internal/testenv"
	logicsvc "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/protocol"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

// cluster is logic (Kitex + HTTP API) + job + edges in one process, over a
// real Redis Streams queue and real loopback connections.
type cluster struct {
	tb      testing.TB
	httpURL string
	edges   []*edge.Server
	reg     *static.Registry
}

// Queue kinds a cluster can run on.
const (
	onRedis  = "redis"
	onMemory = "memory"
	// onKafka is franz-go against kfake, an in-process Kafka: the real
	// client and wire protocol, not a real broker.
	onKafka = "kafka"
)

func startCluster(tb testing.TB, queueKind string, nodes ...string) *cluster {
	tb.Helper()
	return startClusterJob(tb, queueKind, job.DefaultConfig(), nodes...)
}

// startClusterJob is startCluster with job configured by jcfg.
func startClusterJob(tb testing.TB, queueKind string, jcfg job.Config, nodes ...string) *cluster {
	tb.Helper()
	var (
		producer queue.Producer
		consumer queue.Consumer
	)
	switch queueKind {
	case onRedis:
		rds := testenv.Redis(tb)
		qcfg := redisq.DefaultConfig()
		qcfg.Addr = rds.Addr
		qcfg.Stream = "e2e-push"
		qcfg.Consumer = "job-1"
		qcfg.Block = 200 * time.Millisecond
		producer, consumer = redisq.NewProducer(qcfg), redisq.NewConsumer(qcfg)
	case onMemory:
		q := memory.New(memory.DefaultConfig())
		producer, consumer = q, q
	case onKafka:
		kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(4), kfake.GroupMinSessionTimeout(100*time.Millisecond))
		if err != nil {
			tb.Fatalf("kfake: %v", err)
		}
		tb.Cleanup(kc.Close)
		kcfg := kafkaq.DefaultConfig()
		kcfg.Brokers = kc.ListenAddrs()
		kcfg.Topic, kcfg.Group = "e2e-push", "e2e-job"
		kcfg.Partitions = 4
		kcfg.CreateTopics = true
		kcfg.HeartbeatInterval = 100 * time.Millisecond
		kcfg.SessionTimeout = 2 * time.Second
		kp, err := kafkaq.NewProducer(context.Background(), kcfg, nil)
		if err != nil {
			tb.Fatal(err)
		}
		producer, consumer = kp, kafkaq.NewConsumer(kcfg)
	default:
		tb.Fatalf("unknown queue %q", queueKind)
	}
	tb.Cleanup(func() { producer.Close(); consumer.Close() })

	reg := static.New()
	authn, err := auth.New(auth.DefaultConfig(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := logic.New(logic.DefaultConfig(), logic.Deps{
		Store: storemem.New(), Queue: producer, Auth: authn, Discovery: reg,
	})
	if err != nil {
		tb.Fatal(err)
	}

	// Logic's Kitex services, for the edges.
	rpcLn := listen(tb)
	rpc := kitexserver.NewServer(kitexserver.WithListener(rpcLn), kitexserver.WithExitWaitTime(100*time.Millisecond))
	if err := l.RegisterKitex(rpc); err != nil {
		tb.Fatal(err)
	}
	go rpc.Run() //nolint:errcheck // Stop ends it
	tb.Cleanup(func() { _ = rpc.Stop() })

	// goim's HTTP push API.
	httpLn := listen(tb)
	hz := hertzserver.New(hertzserver.WithListener(httpLn), hertzserver.WithExitWaitTime(0), hertzserver.WithDisablePrintRoute(true))
	httpapi.Register(hz, l, httpapi.DefaultConfig())
	go hz.Run() //nolint:errcheck // Shutdown ends it
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hz.Shutdown(ctx)
	})

	c := &cluster{tb: tb, httpURL: "http://" + httpLn.Addr().String(), reg: reg}
	for _, node := range nodes {
		lc, err := logicsvc.NewClient(registry.ServiceLogic, client.WithHostPorts(rpcLn.Addr().String()), client.WithRPCTimeout(3*time.Second))
		if err != nil {
			tb.Fatal(err)
		}
		cfg := edge.DefaultConfig()
		cfg.Node = node
		cfg.TCPAddr = "127.0.0.1:0"
		cfg.WSAddr = ""
		cfg.RPCAddr = "127.0.0.1:0"
		e, err := edge.New(cfg, lc)
		if err != nil {
			tb.Fatal(err)
		}
		if err := e.Start(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = e.Shutdown(ctx)
		})
		if err := reg.Add(registry.Instance{
			Env: "test", Service: registry.ServiceEdge, Region: "r1", Node: node, Addrs: e.Addrs(), Weight: 1,
		}); err != nil {
			tb.Fatal(err)
		}
		c.edges = append(c.edges, e)
	}

	j, err := job.New(jcfg, consumer, reg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- j.Run(context.Background()) }()
	tb.Cleanup(func() {
		_ = j.Close()
		if err := <-done; err != nil {
			tb.Errorf("job run: %v", err)
		}
	})
	waitHTTP(tb, c.httpURL)
	return c
}

func listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}

func waitHTTP(tb testing.TB, base string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/goim/online/total")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("http api %s not up: %v", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// push posts one goim push and checks the plain success envelope.
func (c *cluster) push(route string, q url.Values, body string) {
	c.tb.Helper()
	resp, err := http.Post(c.httpURL+route+"?"+q.Encode(), "text/plain", strings.NewReader(body))
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != `{"code":0,"message":""}` {
		c.tb.Fatalf("POST %s?%s = %d %s", route, q.Encode(), resp.StatusCode, b)
	}
}

// device is a goim TCP client.
type device struct {
	tb      testing.TB
	name    string
	conn    net.Conn
	pushes  chan protocol.Frame
	replies chan protocol.Frame // replies to requests (op 23, ...)
}

// connect dials addr and authenticates with goim's JSON token; pushes
// (op >= 1000) are queued for expect.
func connect(tb testing.TB, addr, name string, mid int64, room string) *device {
	tb.Helper()
	return connectFunc(tb, addr, name, mid, room, nil)
}

// connectFunc is connect with pushes handed to onPush instead, when set.
func connectFunc(tb testing.TB, addr, name string, mid int64, room string, onPush func(protocol.Frame)) *device {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	token := fmt.Sprintf(`{"mid":%d,"key":%q,"room_id":%q,"platform":"web","accepts":[1000,1001,1002]}`, mid, name, room)
	if _, err := conn.Write(protocol.AppendFrame(nil, 1, protocol.OpAuth, 1, []byte(token))); err != nil {
		tb.Fatal(err)
	}
	r := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, _, err := protocol.ReadFrame(r, nil, 1<<20)
	if err != nil || f.Op != protocol.OpAuthReply || f.Seq != 1 {
		tb.Fatalf("%s: auth reply = %+v, %v", name, f, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	d := &device{tb: tb, name: name, conn: conn, pushes: make(chan protocol.Frame, 1<<16), replies: make(chan protocol.Frame, 16)}
	go func() {
		var buf []byte
		for {
			f, b, err := protocol.ReadFrame(r, buf, 1<<20)
			if err != nil {
				close(d.pushes)
				return
			}
			buf = b
			if f.Op >= 1000 && onPush != nil {
				onPush(f)
				continue
			}
			if f.Op >= 1000 {
				f.Body = append([]byte(nil), f.Body...)
				d.pushes <- f
			} else if f.Op != protocol.OpHeartbeatReply {
				f.Body = append([]byte(nil), f.Body...)
				d.replies <- f
			}
		}
	}()
	return d
}

// expect waits for the next push and checks it.
func (d *device) expect(op int32, body string) {
	d.tb.Helper()
	select {
	case f, ok := <-d.pushes:
		if !ok {
			d.tb.Fatalf("%s: connection closed, want push %q", d.name, body)
		}
		if f.Op != op || string(f.Body) != body || f.Ver != protocol.PushVer || f.Seq != 0 {
			d.tb.Fatalf("%s: got push op %d ver %d seq %d %q, want op %d %q", d.name, f.Op, f.Ver, f.Seq, f.Body, op, body)
		}
	case <-time.After(10 * time.Second):
		d.tb.Fatalf("%s: no push, want %q", d.name, body)
	}
}

// expectNone checks that nothing else arrived.
func (d *device) expectNone() {
	d.tb.Helper()
	select {
	case f := <-d.pushes:
		d.tb.Errorf("%s: unexpected push op %d %q", d.name, f.Op, f.Body)
	default:
	}
}

// One push of each kind, through goim's HTTP API, the queue (Redis
// Streams; Kafka's client against kfake), job and two real edges, reaches
// exactly the devices it names.
func TestEndToEndEachKindReachesTheRightDevices(t *testing.T) {
	for _, kind := range []string{onRedis, onKafka} {
		t.Run(kind, func(t *testing.T) { eachKindReachesTheRightDevices(t, kind) })
	}
}

func eachKindReachesTheRightDevices(t *testing.T, queueKind string) {
	c := startCluster(t, queueKind, "edge-1", "edge-2")
	e1, e2 := c.edges[0].Addrs().TCP, c.edges[1].Addrs().TCP
	a := connect(t, e1, "dev-a", 1, "live://1000")
	b := connect(t, e2, "dev-b", 2, "live://1000")
	cc := connect(t, e2, "dev-c", 3, "live://2000")
	all := []*device{a, b, cc}

	c.push("/goim/push/keys", url.Values{"operation": {"1000"}, "keys": {"dev-a"}}, "to a by key")
	a.expect(1000, "to a by key")

	c.push("/goim/push/mids", url.Values{"operation": {"1001"}, "mids": {"3"}}, "to c by mid")
	cc.expect(1001, "to c by mid")

	c.push("/goim/push/keys", url.Values{"operation": {"1000"}, "keys": {"dev-a", "dev-b"}}, "to a and b")
	a.expect(1000, "to a and b")
	b.expect(1000, "to a and b")

	c.push("/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {"1000"}}, "room 1000")
	a.expect(1002, "room 1000")
	b.expect(1002, "room 1000")

	c.push("/goim/push/all", url.Values{"operation": {"1000"}, "speed": {"100"}}, "everyone")
	for _, d := range all {
		d.expect(1000, "everyone")
	}
	// Everything before the broadcast was delivered before it was posted;
	// nothing else may have reached anyone.
	for _, d := range all {
		d.expectNone()
	}

	// Room messages keep their order end to end.
	for i := range 20 {
		c.push("/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {"2000"}}, fmt.Sprint("r", i))
	}
	for i := range 20 {
		cc.expect(1002, fmt.Sprint("r", i))
	}
	a.expectNone()
	b.expectNone()
}

// pacer calls fn rate times a second from a few goroutines, n times in all.
func pace(n, rate, workers int, fn func(i int)) {
	jobs := make(chan int, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				fn(i)
			}
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// join adds the device to room with op 22 and waits for the reply.
func (d *device) join(room string) {
	d.tb.Helper()
	if _, err := d.conn.Write(protocol.AppendFrame(nil, 1, protocol.OpJoinRoom, 9, []byte(room))); err != nil {
		d.tb.Fatal(err)
	}
	select {
	case f := <-d.replies:
		if f.Op != protocol.OpJoinRoomReply || string(f.Body) != room {
			d.tb.Fatalf("%s: join %s answered op %d %q", d.name, room, f.Op, f.Body)
		}
	case <-time.After(10 * time.Second):
		d.tb.Fatalf("%s: no reply to join %s", d.name, room)
	}
}

// With room_targeting = members and real edges: a device joins a room
// its edge never reported. As documented (TargetMembers), room messages
// reach it once job's next poll of that edge sees the member — within a
// few refreshes — and from then on every one does, while the other edge,
// with no member, gets none.
func TestRoomTargetingMembersFindsANewMember(t *testing.T) {
	jcfg := job.DefaultConfig()
	jcfg.RoomTargeting = job.TargetMembers
	jcfg.RoomsRefresh = 100 * time.Millisecond
	c := startClusterJob(t, onMemory, jcfg, "edge-1", "edge-2")
	other := connect(t, c.edges[0].Addrs().TCP, "other", 1, "live://elsewhere")
	d := connect(t, c.edges[1].Addrs().TCP, "newcomer", 2, "")
	d.join("live://77")
	// A numbered room message every 50 ms until one arrives. Those job
	// handled before its poll saw the member went nowhere; from the first
	// that arrives on, every one does, in order (the ones still in flight
	// when the first arrived included).
	start := time.Now()
	first, sent := -1, 0
	for first < 0 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("room messages never reached the new member")
		}
		c.push("/goim/push/room", url.Values{"operation": {"1000"}, "type": {"live"}, "room": {"77"}}, fmt.Sprint("p", sent))
		sent++
		select {
		case f := <-d.pushes:
			if _, err := fmt.Sscanf(string(f.Body), "p%d", &first); err != nil || first < 0 || first >= sent {
				t.Fatalf("first room message %q, want one of p0..p%d", f.Body, sent-1)
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Logf("first room message reached the new member %v after its join (%d missed)", time.Since(start), first)
	for i := first + 1; i < sent; i++ {
		d.expect(1000, fmt.Sprint("p", i))
	}
	for i := range 20 {
		c.push("/goim/push/room", url.Values{"operation": {"1000"}, "type": {"live"}, "room": {"77"}}, fmt.Sprint("after", i))
		d.expect(1000, fmt.Sprint("after", i))
	}
	other.expectNone()
}
