package edge

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// A room flush (or an unpaced broadcast) writes one message to thousands
// of members. Writing from one
// goroutine per member (the send queue's drainers) makes thousands of
// goroutines runnable at once, and the RPC and HTTP goroutines carrying
// the next push wait behind all of them: measured with the bench
// harness, a 10,000-member room at 40 msgs/s fell seconds behind that
// way. So a flush is written by a few workers, about one per CPU, that
// take members one by one from a shared cursor and write inline
// (session.offer with inline). The flush returns when every member has been
// written, so pushes arriving meanwhile coalesce into the next batch:
// the busier the edge, the bigger the batches, the fewer the syscalls.
//
// An inline write can block on a device whose socket is full, for up to
// WriteTimeout, after which that device is closed. A stuck worker holds
// only itself: a watchdog adds a worker whenever the cursor stops moving
// for fanoutStallCheck, so one stuck device never holds up the rest of
// the room, and the flush stops waiting for writes still stuck once
// everyone else is served.

// fanoutStallCheck is how often a flush checks that its cursor moves.
const fanoutStallCheck = 20 * time.Millisecond

// fanoutMaxExtra bounds the workers a flush adds for stuck devices.
const fanoutMaxExtra = 64

// fanoutRun is one flush of one batch to a member list.
type fanoutRun struct {
	members   []*session
	msg       []byte
	pf        *posForm // msg's op-28 form for positioned members, or nil
	op        int32    // with filter: only sessions accepting op take msg
	filter    bool
	next      sharedCursor // into members
	delivered atomic.Int64
	wg        sync.WaitGroup
}

func (f *fanoutRun) start() {
	f.wg.Add(1)
	go f.work()
}

func (f *fanoutRun) work() {
	defer f.wg.Done()
	for {
		i, ok := f.next.take(len(f.members))
		if !ok {
			return
		}
		if f.members[i].offer(f.msg, f.pf, f.op, f.filter, true) {
			f.delivered.Add(1)
		}
	}
}

// writeAll writes msg to every session (with filter, every session whose
// accept set holds op) and returns how many took it. It returns once each was written, queued behind a write
// in progress, or failed, or, for devices stuck in a write, once the rest
// are done (their count is then left out).
func writeAll(members []*session, msg []byte, op int32, filter bool, stallCheck time.Duration) int {
	return writeForms(members, msg, nil, op, filter, stallCheck)
}

// writeForms is writeAll for a push that also has an op-28 form, pf,
// which members that opted into recovery take instead of msg.
func writeForms(members []*session, msg []byte, pf *posForm, op int32, filter bool, stallCheck time.Duration) int {
	if len(members) == 0 {
		return 0
	}
	f := &fanoutRun{members: members, msg: msg, pf: pf, op: op, filter: filter}
	workers := min(runtime.GOMAXPROCS(0), len(members))
	for range workers {
		f.start()
	}
	done := make(chan struct{})
	go func() {
		f.wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(stallCheck)
	defer tick.Stop()
	last, extra := int64(-1), 0
	for {
		select {
		case <-done:
			return int(f.delivered.Load())
		case <-tick.C:
			cur := f.next.taken()
			if cur >= int64(len(members)) && cur == last {
				// Every member is taken and a worker is still busy after
				// a whole check: it waits on a stuck device. Let it
				// finish in the background; that device's next batches
				// queue behind its write (session.writing), so the next
				// flush is not held up by it.
				return int(f.delivered.Load())
			}
			if cur == last && extra < fanoutMaxExtra {
				fanoutStallsTotal.Inc()
				extra++
				f.start()
			}
			last = cur
		}
	}
}

var fanoutStallsTotal = promauto.NewCounter(prometheus.CounterOpts{
	Name: "goim_edge_fanout_stalls_total",
	Help: "Room flushes whose writers all waited on stuck devices, so a worker was added.",
})

// sharedCursor hands the indexes of a list to the workers that share it,
// one at a time: a worker stuck on one item (a device whose socket is
// full) holds no others hostage, and the shared counter costs far less
// than the write each item needs anyway.
type sharedCursor struct{ next atomic.Int64 }

// take returns the next index below n, or false when the list is done.
func (c *sharedCursor) take(n int) (int, bool) {
	i := c.next.Add(1) - 1
	return int(i), i < int64(n)
}

// taken is how many indexes were handed out (it may exceed the list's
// length once workers found it done).
func (c *sharedCursor) taken() int64 { return c.next.Load() }
