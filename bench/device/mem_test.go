package device

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/bench/procstat"
	"github.com/goim-edge/goim-edge/bench/standalone"
)

// nopHandler drops what it is given.
type nopHandler struct{}

func (nopHandler) Push(int32, []byte)   {}
func (nopHandler) HeartbeatReply(int32) {}

// BenchmarkIdleDeviceMemory measures what an idle device costs this
// process on each engine, against a fresh `goim-edge standalone`: Go heap,
// goroutine stacks and RSS per device, after a GC, reported as metrics. A
// measurement, so a benchmark: it needs the server binary in
// GOIMEDGE_MEM_BIN (GOIMEDGE_MEM_CONNS devices, 5,000 by default;
// GOIMEDGE_MEM_PROFILE: a heap profile per engine is written to that path
// plus the engine name). One iteration is the whole measurement:
//
//	GOIMEDGE_MEM_BIN=$PWD/bin/goim-edge go test -run '^$' -bench IdleDeviceMemory -benchtime 1x ./bench/device
func BenchmarkIdleDeviceMemory(b *testing.B) {
	bin := os.Getenv("GOIMEDGE_MEM_BIN")
	if bin == "" {
		b.Skip("GOIMEDGE_MEM_BIN not set: give the goim-edge binary to measure against")
	}
	t := b
	n := 5000
	if s := os.Getenv("GOIMEDGE_MEM_CONNS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := standalone.Start(context.Background(), bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	for _, engine := range enginesFor(TCP) {
		b.Run(engine, func(t *testing.B) {
			before, rssBefore := memNow(t)
			conns := make([]Conn, n)
			var wg sync.WaitGroup
			next := make(chan int)
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						o := Options{Transport: TCP, Addr: srv.TCP, Source: net.IPv4(127, 0, 1, byte(1+i/10000)), Timeout: 10 * time.Second, Engine: engine}
						c, err := Connect(context.Background(), o, Token{Mid: int64(i + 1), Key: fmt.Sprintf("m-%d", i), RoomID: "test://1", Accepts: []int32{1000}})
						if err != nil {
							t.Error(err)
							continue
						}
						c.Start(nopHandler{}, func(error) {})
						conns[i] = c
					}
				}()
			}
			for i := range n {
				next <- i
			}
			close(next)
			wg.Wait()
			time.Sleep(2 * time.Second)
			after, rssAfter := memNow(t)
			per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
			t.ReportMetric(per(after.HeapInuse, before.HeapInuse), "heap-B/device")
			t.ReportMetric(per(after.StackInuse, before.StackInuse), "stack-B/device")
			t.ReportMetric(per(after.Sys, before.Sys), "gosys-B/device")
			t.ReportMetric(per(rssAfter, rssBefore), "rss-B/device")
			t.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
			if p := os.Getenv("GOIMEDGE_MEM_PROFILE"); p != "" {
				f, err := os.Create(p + "." + engine)
				if err != nil {
					t.Fatal(err)
				}
				if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
			time.Sleep(time.Second)
		})
	}
}

func memNow(t testing.TB) (runtime.MemStats, uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	p, err := procstat.Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return m, p.RSS
}
