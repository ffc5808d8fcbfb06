package chaos

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/bench/device"
)

// Ops the suite pushes with, one per kind, so a delivery also says which
// kind of push brought it.
const (
	opMid  int32 = 1000
	opKey  int32 = 1001
	opRoom int32 = 1002
)

// bodyPrefix starts every tracked push body; the rest is the push id.
const bodyPrefix = "chaos:"

// heartbeatEvery keeps devices well inside the edge's default heartbeat
// timeout (4 min × 2) during a long run.
const heartbeatEvery = 60 * time.Second

// session is one authenticated connection of a device.
type session struct {
	edge       int
	start, end time.Time // end is zero while open
}

// Device is one tracked goim device: a unique mid and key, one room, a
// home edge. It reconnects (to the other edge first) whenever its
// connection ends, until the fleet stops.
type Device struct {
	Index int
	Mid   int64
	Key   string
	Room  string
	Home  int

	mu       sync.Mutex
	sessions []session
	got      map[uint64][]time.Time // push id -> arrivals
	conn     device.Conn
	goHome   bool
	strays   int // pushes whose body was not a tracked id
}

// Push records one delivery (device.Handler).
func (d *Device) Push(op int32, body []byte) {
	now := time.Now()
	id, ok := parseID(body)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !ok {
		d.strays++
		return
	}
	d.got[id] = append(d.got[id], now)
}

// HeartbeatReply is ignored (device.Handler).
func (d *Device) HeartbeatReply(int32) {}

func parseID(body []byte) (uint64, bool) {
	s := string(body)
	if len(s) <= len(bodyPrefix) || s[:len(bodyPrefix)] != bodyPrefix {
		return 0, false
	}
	id, err := strconv.ParseUint(s[len(bodyPrefix):], 10, 64)
	return id, err == nil
}

// current is the open session, if there is one.
func (d *Device) current() (session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.sessions); n > 0 && d.sessions[n-1].end.IsZero() {
		return d.sessions[n-1], true
	}
	return session{}, false
}

// inPromise reports whether one session was authenticated before sent and
// stayed open until answered+grace.
func (d *Device) inPromise(sent, answered time.Time, grace time.Duration) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	until := answered.Add(grace)
	for _, s := range d.sessions {
		if s.start.Before(sent) && (s.end.IsZero() || s.end.After(until)) {
			return true
		}
	}
	return false
}

// arrivals are the delivery times of push id.
func (d *Device) arrivals(id uint64) []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.got[id]
}

// Fleet is every tracked device.
type Fleet struct {
	Devices []*Device
	Rooms   []string
	members map[string][]int

	edges [2]string
	wg    sync.WaitGroup
}

// NewFleet makes n devices spread over two edges and nRooms rooms.
func NewFleet(edges [2]string, n, nRooms int) *Fleet {
	f := &Fleet{edges: edges, members: map[string][]int{}}
	for r := 0; r < nRooms; r++ {
		f.Rooms = append(f.Rooms, fmt.Sprintf("live://chaos%d", r))
	}
	for i := 0; i < n; i++ {
		d := &Device{
			Index: i, Mid: int64(100000 + i), Key: fmt.Sprintf("chaos-key-%d", i),
			Room: f.Rooms[i%nRooms], Home: i % 2, got: map[uint64][]time.Time{},
		}
		f.Devices = append(f.Devices, d)
		f.members[d.Room] = append(f.members[d.Room], i)
	}
	return f
}

// Start connects every device and keeps it connected until ctx ends.
func (f *Fleet) Start(ctx context.Context) {
	for _, d := range f.Devices {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.run(ctx, d)
		}()
	}
}

// Wait returns once every device loop has ended (after ctx is done).
func (f *Fleet) Wait() { f.wg.Wait() }

func (f *Fleet) run(ctx context.Context, d *Device) {
	edge := d.Home
	tok := device.Token{Mid: d.Mid, Key: d.Key, RoomID: d.Room, Platform: "chaos", Accepts: []int32{opMid, opKey, opRoom}}
	for ctx.Err() == nil {
		c, err := device.Connect(ctx, device.Options{Transport: device.TCP, Addr: f.edges[edge], Timeout: 5 * time.Second}, tok)
		if err != nil {
			edge = 1 - edge // the other edge, then back
			sleepCtx(ctx, 200*time.Millisecond)
			continue
		}
		d.mu.Lock()
		d.sessions = append(d.sessions, session{edge: edge, start: time.Now()})
		d.conn = c
		d.goHome = false
		d.mu.Unlock()
		stop := make(chan struct{})
		go heartbeat(c, stop)
		go func() {
			select {
			case <-ctx.Done():
				c.Close()
			case <-stop:
			}
		}()
		_ = c.Serve(d)
		close(stop)
		c.Close()
		d.mu.Lock()
		d.sessions[len(d.sessions)-1].end = time.Now()
		d.conn = nil
		home := d.goHome
		d.mu.Unlock()
		if home {
			edge = d.Home
		} else {
			edge = 1 - edge // an edge that went away: come back elsewhere
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

func heartbeat(c device.Conn, stop chan struct{}) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if c.Heartbeat() != nil {
				return
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Rebalance sends every device that is away from its home edge back home
// and waits until all are connected at home.
func (f *Fleet) Rebalance(d time.Duration) error {
	for _, dev := range f.Devices {
		dev.mu.Lock()
		if dev.conn != nil && dev.sessions[len(dev.sessions)-1].edge != dev.Home {
			dev.goHome = true
			dev.conn.Close()
		}
		dev.mu.Unlock()
	}
	return f.WaitHome(d)
}

// WaitHome polls until every device is connected to its home edge.
func (f *Fleet) WaitHome(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		away := 0
		for _, dev := range f.Devices {
			if s, ok := dev.current(); !ok || s.edge != dev.Home {
				away++
				if ok && s.edge != dev.Home {
					dev.mu.Lock()
					if dev.conn != nil {
						dev.goHome = true
						dev.conn.Close()
					}
					dev.mu.Unlock()
				}
			}
		}
		if away == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chaos: %d of %d devices not connected to their home edge after %v", away, len(f.Devices), d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recipients are the devices a push to target should reach.
func (f *Fleet) recipients(kind string, i int, room string) []int {
	if kind == "room" {
		return f.members[room]
	}
	return []int{i}
}

// WaitConnected polls until every device is connected to some edge.
func (f *Fleet) WaitConnected(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		off := 0
		for _, dev := range f.Devices {
			if _, ok := dev.current(); !ok {
				off++
			}
		}
		if off == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chaos: %d of %d devices not connected after %v", off, len(f.Devices), d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Reconnect closes every connection and waits until every device has
// authenticated again on its home edge.
func (f *Fleet) Reconnect(d time.Duration) error {
	before := make([]int, len(f.Devices))
	for i, dev := range f.Devices {
		dev.mu.Lock()
		before[i] = len(dev.sessions)
		if dev.conn != nil {
			dev.goHome = true
			dev.conn.Close()
		}
		dev.mu.Unlock()
	}
	deadline := time.Now().Add(d)
	for {
		waiting := 0
		for i, dev := range f.Devices {
			dev.mu.Lock()
			n := len(dev.sessions)
			if n <= before[i] || !dev.sessions[n-1].end.IsZero() {
				waiting++
			}
			dev.mu.Unlock()
		}
		if waiting == 0 {
			return f.WaitHome(time.Until(deadline))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chaos: %d of %d devices not reconnected after %v", waiting, len(f.Devices), d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
