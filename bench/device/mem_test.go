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

// TestIdleMemory measures what an idle device costs this process on each
// engine, against a fresh `goim-edge standalone`: Go heap, goroutine
// stacks and RSS per device, after a GC. It is a measurement, not a check,
// so it runs only when GOIMEDGE_MEM_BIN names the server binary
// (GOIMEDGE_MEM_CONNS devices, 5,000 by default; GOIMEDGE_MEM_PROFILE: a
// heap profile per engine is written to that path plus the engine name):
//
//	GOIMEDGE_MEM_BIN=$PWD/bin/goim-edge go test -run TestIdleMemory -v ./bench/device
func TestIdleMemory(t *testing.T) {
	bin := os.Getenv("GOIMEDGE_MEM_BIN")
	if bin == "" {
		t.Skip("GOIMEDGE_MEM_BIN not set")
	}
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
		t.Run(engine, func(t *testing.T) {
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
			t.Logf("%s, %d devices, per device: heap in use %.0f B, stacks %.0f B, Go sys %.0f B, RSS %.0f B; goroutines %d",
				engine, n, per(after.HeapInuse, before.HeapInuse), per(after.StackInuse, before.StackInuse),
				per(after.Sys, before.Sys), per(rssAfter, rssBefore), runtime.NumGoroutine())
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

func memNow(t *testing.T) (runtime.MemStats, uint64) {
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
