package edge

import (
	"fmt"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// TestWriteAllStuckDevicesHoldUpNobody: members whose writes block (a
// device that stopped reading, its socket full) take a worker each, yet
// every other member gets the batch, writeAll returns, and the next batch
// reaches the healthy members while the stuck writes still hang; once
// released, the stuck members get both batches in order.
func TestWriteAllStuckDevicesHoldUpNobody(t *testing.T) {
	for _, stuckN := range []int{1, 8} {
		t.Run(fmt.Sprintf("stuck=%d", stuckN), func(t *testing.T) {
			srv := newUnitServer(t, nil)
			release := make(chan struct{})
			var members []*session
			var stuck, healthy []*recTransport
			for i := range 1000 {
				tr := &recTransport{}
				// Spread the stuck ones so they land in different chunks.
				if i%(1000/stuckN) == 0 && len(stuck) < stuckN {
					tr.block = release
					stuck = append(stuck, tr)
				} else {
					healthy = append(healthy, tr)
				}
				members = append(members, publishedSession(srv, fmt.Sprint("k", i), tr))
			}
			first, second := []byte("batch-1"), []byte("batch-2")
			returned := make(chan int, 1)
			go func() { returned <- writeAll(members, first, protocol.OpRaw, false, 5*time.Millisecond) }()
			select {
			case n := <-returned:
				if want := len(healthy); n != want {
					t.Fatalf("writeAll counted %d members, want the %d healthy ones", n, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("writeAll waited on stuck devices")
			}
			if n := writeAll(members, second, protocol.OpRaw, false, 5*time.Millisecond); n != len(members) {
				t.Fatalf("second batch taken by %d members, want %d (stuck ones queue it)", n, len(members))
			}
			for i, tr := range healthy {
				if got := tr.written(); len(got) != 2 || string(got[0]) != "batch-1" || string(got[1]) != "batch-2" {
					t.Fatalf("healthy member %d got %q", i, got)
				}
			}
			close(release)
			for i, tr := range stuck {
				eventually(t, "stuck member to catch up", func() bool { return len(tr.written()) == 2 })
				if got := tr.written(); string(got[0]) != "batch-1" || string(got[1]) != "batch-2" {
					t.Fatalf("stuck member %d got %q, want both batches in order", i, got)
				}
			}
		})
	}
}

// BenchmarkWriteAll is the edge's own cost of one room flush to 10,000
// members (no sockets: the transport only records), per member.
//
//	go test -run '^$' -bench WriteAll ./edge/
func BenchmarkWriteAll(b *testing.B) {
	srv := newUnitServer(b, nil)
	members := make([]*session, 10000)
	trs := make([]*recTransport, len(members))
	for i := range members {
		trs[i] = &recTransport{}
		members[i] = publishedSession(srv, fmt.Sprint("k", i), trs[i])
	}
	msg := []byte("batch")
	b.ResetTimer()
	for range b.N {
		writeAll(members, msg, protocol.OpRaw, false, fanoutStallCheck)
		for _, tr := range trs {
			tr.mu.Lock()
			tr.msgs = tr.msgs[:0]
			tr.mu.Unlock()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(members)), "ns/member")
}

// TestWriteAllFilter: with filter only sessions accepting op take the
// message (broadcast); without, every member does (room batches).
func TestWriteAllFilter(t *testing.T) {
	tests := []struct {
		name   string
		filter bool
		want   int
	}{
		{"broadcast honours accepts", true, 50},
		{"room ignores accepts", false, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newUnitServer(t, nil)
			var members []*session
			var trs []*recTransport
			for i := range 100 {
				tr := &recTransport{}
				accepts := []int32{1000}
				if i%2 == 1 {
					accepts = []int32{2000}
				}
				members = append(members, publishedSession(srv, fmt.Sprint("k", i), tr, accepts...))
				trs = append(trs, tr)
			}
			if n := writeAll(members, []byte("m"), 1000, tt.filter, fanoutStallCheck); n != tt.want {
				t.Fatalf("writeAll took %d, want %d", n, tt.want)
			}
			got := 0
			for i, tr := range trs {
				if len(tr.written()) == 1 {
					got++
				} else if i%2 == 0 || !tt.filter {
					t.Fatalf("member %d (accepts %v) got nothing", i, members[i].accepts)
				}
			}
			if got != tt.want {
				t.Fatalf("%d members got the message, want %d", got, tt.want)
			}
		})
	}
}
