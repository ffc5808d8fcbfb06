package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/bench/device"
	"github.com/goim-edge/goim-edge/bench/payload"
	"github.com/goim-edge/goim-edge/protocol"
)

// TestMain lets this test binary act as a worker child, as the bench
// binary does, so StartProcess is tested with a real process.
func TestMain(m *testing.M) {
	ServeIfChild()
	os.Exit(m.Run())
}

// pushPeer is a goim peer over real TCP that authenticates every device and
// lets the test write frames to a device by key.
type pushPeer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[string]net.Conn
	mids  map[string]int64
	// hb gets the key of a device whose heartbeat was answered, once the
	// reply is written (nothing is sent when the buffer is full).
	hb chan string
}

func newPushPeer(t *testing.T) *pushPeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pushPeer{ln: ln, conns: map[string]net.Conn{}, mids: map[string]int64{}, hb: make(chan string, 1024)}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *pushPeer) serve(c net.Conn) {
	r := bufio.NewReader(c)
	f, _, err := protocol.ReadFrame(r, nil, protocol.MaxPackSize)
	if err != nil || f.Op != protocol.OpAuth {
		c.Close()
		return
	}
	var tok struct {
		Mid int64  `json:"mid"`
		Key string `json:"key"`
	}
	if json.Unmarshal(f.Body, &tok) != nil || strings.HasSuffix(tok.Key, "-13") { // device 13 is refused
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[tok.Key] = c
	p.mids[tok.Key] = tok.Mid
	p.mu.Unlock()
	c.Write(protocol.AppendFrame(nil, f.Ver, protocol.OpAuthReply, f.Seq, nil))
	for {
		f, _, err := protocol.ReadFrame(r, nil, protocol.MaxPackSize)
		if err != nil {
			return
		}
		if f.Op == protocol.OpHeartbeat {
			c.Write(protocol.AppendFrame(nil, f.Ver, protocol.OpHeartbeatReply, f.Seq, []byte{0, 0, 0, 7}))
			select {
			case p.hb <- tok.Key:
			default:
			}
		}
	}
}

func (p *pushPeer) send(t *testing.T, key string, b []byte) {
	t.Helper()
	p.mu.Lock()
	c := p.conns[key]
	p.mu.Unlock()
	if c == nil {
		t.Fatalf("no device %s", key)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func msg(id uint64, sent time.Time, dest uint32) []byte {
	return protocol.AppendFrame(nil, 1, 1000, 0, payload.Append(nil, payload.Message{ID: id, Sent: sent.UnixNano(), Dest: dest}, 32))
}

func testSpec(addr string, worker, first, count int) Spec {
	return Spec{
		Worker: worker, Transport: "tcp", Addrs: []string{addr}, Sources: []string{"127.0.0.1", "127.0.0.2"},
		First: first, Count: count, KeyPrefix: "t", MidBase: 100, Rooms: []string{"test://1", "test://2"},
		Platform: "bench", Accepts: []int32{1000}, Heartbeat: 200 * time.Millisecond, Concurrency: 4,
		Timeout: 5 * time.Second, Epoch: time.Now().UnixNano(), Step: 100 * time.Millisecond, ProgressEvery: 50 * time.Millisecond,
	}
}

// TestAccounting drives two in-process workers through the whole protocol
// against a real TCP peer and checks every count the parent relies on.
func TestAccounting(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { testAccounting(t, engine) })
	}
}

// engines are the device engines a TCP worker is tested with.
var engines = []string{device.EngineGoroutine, device.EnginePoll}

// withEngine is spec with its devices read by engine.
func withEngine(spec Spec, engine string) Spec {
	spec.Engine = engine
	return spec
}

func testAccounting(t *testing.T, engine string) {
	peer := newPushPeer(t)
	addr := peer.ln.Addr().String()
	ctx := context.Background()
	g, err := StartGroup(ctx, []Spec{withEngine(testSpec(addr, 0, 0, 10), engine), withEngine(testSpec(addr, 1, 10, 10), engine)}, Launch{InProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Kill()
	reports, err := g.WaitConnected(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if reports[0].Up != 10 || reports[1].Up != 9 || reports[1].Failed != 1 || len(reports[1].FailedIndexes) != 1 || reports[1].FailedIndexes[0] != 13 {
		t.Fatalf("connect reports: %+v / %+v", reports[0], reports[1])
	}
	if reports[0].RoomMembers["test://1"] != 5 || reports[0].Latency.Count() != 10 || reports[0].LastAuth < reports[0].FirstDial {
		t.Fatalf("worker 0 report: %+v", reports[0])
	}
	peer.mu.Lock()
	if peer.mids["t-3"] != 103 {
		t.Fatalf("mid of t-3 = %d", peer.mids["t-3"])
	}
	peer.mu.Unlock()

	// A heartbeat answered before the pushes: a device reads its frames
	// in order, so once the push written after the reply is counted (the
	// progress below), the worker has counted the reply too.
	var hbKey string
	select {
	case hbKey = <-peer.hb:
	case <-time.After(10 * time.Second):
		t.Fatal("no heartbeat arrived")
	}

	sent := time.Now().Add(-3 * time.Millisecond)
	// id 0 to everyone connected (hbKey among them), in an OpRaw-like
	// unwrapped batch of one.
	for i := range 20 {
		if i != 13 {
			peer.send(t, Key("t", i), msg(0, sent, payload.AnyDevice))
		}
	}
	peer.send(t, "t-1", msg(1, sent, 1))                                             // keyed, right device
	peer.send(t, "t-2", msg(2, sent, 5))                                             // keyed, wrong device
	peer.send(t, "t-12", msg(0, sent, payload.AnyDevice))                            // duplicate
	peer.send(t, "t-12", protocol.AppendFrame(nil, 1, 1000, 0, []byte("not bench"))) // foreign
	peer.send(t, "t-4", protocol.AppendFrame(nil, 1, 1000, 0, []byte("GEB1xx")))     // malformed

	deadline := time.Now().Add(10 * time.Second)
	for g.Progress().Received < 22 {
		if time.Now().After(deadline) {
			t.Fatalf("progress stuck at %+v (heartbeat answered on %s)", g.Progress(), hbKey)
		}
		time.Sleep(20 * time.Millisecond)
	}

	results, err := g.Finish(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var recv, dups, mis, foreign, malformed, lost, hbReplies int64
	for _, r := range results {
		recv += r.Received
		dups += r.Duplicates
		mis += r.Misrouted
		foreign += r.Foreign
		malformed += r.Malformed
		lost += int64(r.Lost)
		hbReplies += r.HeartbeatReplies
	}
	if recv != 22 || dups != 1 || mis != 1 || foreign != 1 || malformed != 1 || lost != 0 {
		t.Fatalf("recv %d dups %d misrouted %d foreign %d malformed %d lost %d", recv, dups, mis, foreign, malformed, lost)
	}
	if results[0].Reads < 10 || results[0].CPUSeconds <= 0 {
		t.Fatalf("reads %d cpu %v", results[0].Reads, results[0].CPUSeconds)
	}
	if hbReplies == 0 || results[0].OnlineMax != 7 || results[0].OnlineMin != 7 {
		t.Fatalf("heartbeat replies %d online %d..%d", hbReplies, results[0].OnlineMin, results[0].OnlineMax)
	}
	d0 := results[0].Deliveries.Get(0).Unique + results[1].Deliveries.Get(0).Unique
	if d0 != 19 || results[0].Deliveries.Get(1).Unique != 1 {
		t.Fatalf("deliveries of id 0 = %d, id 1 = %+v", d0, results[0].Deliveries.Get(1))
	}
	lat := results[0].Latency
	if lat.Count() != 12 || lat.Quantile(0.5) < 3*time.Millisecond || lat.Max() > 5*time.Second {
		t.Fatalf("latency count %d p50 %v max %v", lat.Count(), lat.Quantile(0.5), lat.Max())
	}
	var series int64
	for _, r := range results {
		for _, n := range r.Series {
			series += n
		}
	}
	if series != 21 {
		t.Fatalf("series total %d, want 21 first arrivals", series)
	}
	g.Close(5 * time.Second)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestChildProcess runs a worker as a real child process of this binary.
func TestChildProcess(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { testChildProcess(t, engine) })
	}
}

func testChildProcess(t *testing.T, engine string) {
	peer := newPushPeer(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g, err := StartGroup(ctx, []Spec{withEngine(testSpec(peer.ln.Addr().String(), 0, 0, 5), engine)}, Launch{Exe: exe, Stderr: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Kill()
	if _, err := g.WaitConnected(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	peer.send(t, "t-2", msg(0, time.Now(), 2))
	deadline := time.Now().Add(5 * time.Second)
	for g.Progress().Received < 1 {
		if time.Now().After(deadline) {
			t.Fatal("push never counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := g.Finish(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Received != 1 || res[0].Deliveries.Get(0).Unique != 1 {
		t.Fatalf("result %+v", res[0])
	}
	g.Close(5 * time.Second)
}

func TestBadStart(t *testing.T) {
	cases := []struct{ name, in string }{
		{"not json", "hello\n"},
		{"finish first", `{"cmd":"finish"}` + "\n"},
		{"bad transport", `{"cmd":"start","spec":{"transport":"udp","addrs":["x"]}}` + "\n"},
		{"no address", `{"cmd":"start","spec":{"transport":"tcp"}}` + "\n"},
		{"bad engine", `{"cmd":"start","spec":{"transport":"tcp","addrs":["x"],"engine":"threads"}}` + "\n"},
		{"bad source", `{"cmd":"start","spec":{"transport":"tcp","addrs":["x"],"sources":["nope"]}}` + "\n"},
		{"eof", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			err := Serve(context.Background(), strings.NewReader(c.in), &out)
			if err == nil {
				t.Fatal("Serve accepted it")
			}
			if !strings.Contains(out.String(), `"ev":"error"`) {
				t.Fatalf("no error event: %q", out.String())
			}
		})
	}
}
