package edge

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

// benchConns is how many idle devices the memory benchmarks open:
// EDGE_BENCH_CONNS, default 15,000 (goim's published figure is per
// connection at that scale).
func benchConns() int {
	if n, err := strconv.Atoi(os.Getenv("EDGE_BENCH_CONNS")); err == nil && n > 0 {
		return n
	}
	return 15000
}

func benchEdge(b *testing.B, c *child, mod func(*Config)) *Server {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Node = "edge-bench"
	cfg.TCPAddr, cfg.WSAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg, c.logicClient(b))
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e
}

type memSample struct{ heap, stack uint64 }

func sampleMem() memSample {
	var m runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return memSample{heap: m.HeapAlloc, stack: m.StackInuse}
}

// benchmarkIdle measures what each idle, authenticated device costs the
// edge process: live heap, and goroutine stacks, per connection.
func benchmarkIdle(b *testing.B, proto string, mod func(*Config)) {
	n := benchConns()
	c := startChild(b)
	e := benchEdge(b, c, mod)
	addr := e.Addrs().TCP
	if proto == "ws" {
		addr = e.Addrs().WS
	}
	// Warm up pools and lazily built state with a few devices first.
	c.do(b, childCmd{Proto: proto, Addr: addr, N: 50})
	time.Sleep(200 * time.Millisecond)
	before, g0 := sampleMem(), runtime.NumGoroutine()
	b.ResetTimer()
	c.do(b, childCmd{Proto: proto, Addr: addr, N: n})
	eventuallyB(b, func() bool { return e.Stats().Conns == n+50 })
	time.Sleep(time.Second) // let write buffers and goroutines settle
	after, g1 := sampleMem(), runtime.NumGoroutine()
	b.StopTimer()
	writeHeapProfile(b)
	b.ReportMetric(float64(after.heap-before.heap)/float64(n), "heap-B/conn")
	b.ReportMetric(float64(after.stack-before.stack)/float64(n), "stack-B/conn")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/conn")
	b.ReportMetric(float64(n), "conns")
}

// writeHeapProfile writes the live heap, as the memory figures see it, to
// EDGE_BENCH_HEAPPROFILE when set (go test's -memprofile is taken after
// the benchmark's connections are gone):
//
//	EDGE_BENCH_HEAPPROFILE=/tmp/idle.pprof go test -run '^$' -bench IdleTCPConn -benchtime 1x ./edge/
//	go tool pprof -sample_index=inuse_space -top /tmp/idle.pprof
func writeHeapProfile(b *testing.B) {
	path := os.Getenv("EDGE_BENCH_HEAPPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

func eventuallyB(b *testing.B, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkIdleTCPConn: go test -run '^$' -bench IdleTCPConn -benchtime 1x ./edge/
func BenchmarkIdleTCPConn(b *testing.B) { benchmarkIdle(b, "tcp", nil) }

// BenchmarkIdleWSConn, per WebSocket transport:
//
//	go test -run '^$' -bench IdleWSConn -benchtime 1x ./edge/
func BenchmarkIdleWSConn(b *testing.B) {
	for _, tr := range wsTransports {
		b.Run(tr, func(b *testing.B) {
			benchmarkIdle(b, "ws", func(c *Config) { c.WSTransport = tr })
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRoomFanoutTCP pushes to a room of 10,000 real TCP devices (in
// the child process) and reports deliveries per CPU-second of the edge
// process, counted once the devices have received every frame.
// "spaced" leaves a batch window between pushes, so every push is its own
// flush (one write per member); "stream" pushes back to back and lets the
// room batch them.
//
//	go test -run '^$' -bench RoomFanoutTCP -benchtime 200x ./edge/
func BenchmarkRoomFanoutTCP(b *testing.B) { benchmarkRoomFanout(b, "tcp", 10000, nil) }

// BenchmarkRoomFanoutWS is BenchmarkRoomFanoutTCP with 5,000 WebSocket
// members, per WebSocket transport:
//
//	go test -run '^$' -bench RoomFanoutWS -benchtime 100x ./edge/
func BenchmarkRoomFanoutWS(b *testing.B) {
	for _, tr := range wsTransports {
		b.Run(tr, func(b *testing.B) {
			benchmarkRoomFanout(b, "ws", 5000, func(c *Config) { c.WSTransport = tr })
		})
	}
}

func benchmarkRoomFanout(b *testing.B, proto string, members int, mod func(*Config)) {
	for _, mode := range []string{"spaced", "stream"} {
		b.Run(mode, func(b *testing.B) {
			c := startChild(b)
			e := benchEdge(b, c, func(cfg *Config) {
				cfg.SendQueue = 1024
				if mod != nil {
					mod(cfg)
				}
			})
			addr := e.Addrs().TCP
			if proto == "ws" {
				addr = e.Addrs().WS
			}
			c.do(b, childCmd{Proto: proto, Addr: addr, N: members, Room: "bench://1", Expect: 1})
			eventuallyB(b, func() bool { r := e.room("bench://1"); return r != nil && r.count() == members })
			h := e.Handler()
			body := []byte(strings.Repeat("x", 64))
			flushes0 := counterValue(b, roomFlushesTotal)
			var cpu time.Duration
			streamCPU0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				cpu0 := cpuTime()
				if _, err := h.PushRoom(context.Background(), &edge.PushRoomReq{Room: "bench://1", Msgs: []*edge.RoomMsg{{Op: 1000, Body: body}}}); err != nil {
					b.Fatal(err)
				}
				if mode == "spaced" {
					// Wait for the writes to finish, outside the CPU count.
					eventuallyB(b, func() bool { return e.Stats().Conns == members && queuesEmpty(e) })
					cpu += cpuTime() - cpu0
					time.Sleep(e.cfg.RoomBatchWindow + time.Millisecond)
				}
			}
			got := c.do(b, childCmd{Expect: int64(b.N) * int64(members)})
			b.StopTimer()
			if mode == "stream" {
				// The edge's CPU from the first push until the devices had
				// every frame (the devices run in the child process).
				cpu = cpuTime() - streamCPU0
			}
			var recv int64
			fmt.Sscanf(got, "ok %d", &recv)
			if recv < int64(b.N)*int64(members) {
				b.Fatalf("devices received %d of %d frames", recv, int64(b.N)*int64(members))
			}
			b.ReportMetric(float64(recv)/cpu.Seconds(), "deliveries/cpu-s")
			b.ReportMetric(float64(recv)/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(counterValue(b, roomFlushesTotal)-flushes0, "flushes")
		})
	}
}

// queuesEmpty reports whether no session has pushes waiting or being
// written.
func queuesEmpty(e *Server) bool {
	for _, s := range e.sessionsSnapshot() {
		s.qmu.Lock()
		busy := s.q(qWriting)
		s.qmu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

// BenchmarkTCPHeartbeat is one heartbeat round trip over a real TCP
// connection (decode, handle, reply), the hot path of an idle fleet.
//
//	go test -run '^$' -bench TCPHeartbeat ./edge/
func BenchmarkTCPHeartbeat(b *testing.B) {
	// Back-to-back heartbeats are a flood to the rate limit; the hot path
	// measured here is the one a normal client's heartbeat takes.
	cl := newCluster(b, func(c *Config) { c.UpstreamRate = 0 }, nil)
	c := dialTCP(b, cl.edge.Addrs().TCP)
	c.auth(token(1, "k-bench-hb", []string{"live://hb"}))
	frame := protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 1, nil)
	reply := make([]byte, 20)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.c.Write(frame); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c.c, reply); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushKeys is the RPC handler's work for a keys push to one
// connection (lookup, accept check, queue; the write happens elsewhere).
func BenchmarkPushKeys(b *testing.B) {
	srv := newUnitServer(b, func(c *Config) { c.SendQueue = 1 << 30 })
	for i := range 1000 {
		publishedSession(srv, fmt.Sprint("k", i), &countTransport{}, 1000)
	}
	h := &Handler{srv: srv}
	req := &edge.PushKeysReq{Keys: []string{"k7"}, Op: 1000, Body: []byte("hello")}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := h.PushKeys(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
