package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/protocol"
)

// resumer is a device that opted into recovery (docs/recovery.md): it
// keeps its last position in its user's and its room's streams, and
// after its connection ends reconnects — to the next address it knows —
// resuming from them. It records every message it receives.
type resumer struct {
	t     *testing.T
	name  string
	mid   int64
	room  string
	addrs []string
	// drop, when set, makes the device end its connection itself once
	// (a phone losing signal), then reconnect.
	drop chan struct{}
	// mustReconnect: the device's connection is cut by the test.
	mustReconnect bool

	mu        sync.Mutex
	conn      net.Conn
	pos       map[string]protocol.StreamPos
	offsets   map[string][]int64
	bodies    map[string][]string
	dups      int
	verdicts  []protocol.StreamVerdict
	connects  int
	lastError error
}

func newResumer(t *testing.T, name string, mid int64, room string, addrs ...string) *resumer {
	r := &resumer{t: t, name: name, mid: mid, room: room, addrs: addrs,
		pos: map[string]protocol.StreamPos{}, offsets: map[string][]int64{}, bodies: map[string][]string{}}
	for _, s := range r.streams() {
		r.pos[s] = protocol.StreamPos{Stream: s}
	}
	return r
}

func (r *resumer) streams() []string {
	return []string{protocol.UserStream(r.mid), protocol.RoomStream(r.room)}
}

// run connects and reads until stop closes, reconnecting after every end.
func (r *resumer) run(stop <-chan struct{}) {
	next := 0
	drop := r.drop
	for {
		select {
		case <-stop:
			return
		default:
		}
		conn, err := net.DialTimeout("tcp", r.addrs[next%len(r.addrs)], time.Second)
		if err != nil {
			next++
			time.Sleep(50 * time.Millisecond)
			continue
		}
		r.mu.Lock()
		r.conn = conn
		r.connects++
		var req protocol.ResumeRequest
		for _, s := range r.streams() {
			req.Streams = append(req.Streams, r.pos[s])
		}
		r.mu.Unlock()
		body, _ := json.Marshal(req)
		token := fmt.Sprintf(`{"mid":%d,"key":%q,"room_id":%q,"platform":"test","accepts":[1000]}`, r.mid, r.name, r.room)
		out := protocol.AppendFrame(nil, 1, protocol.OpResume, 1, body)
		out = protocol.AppendFrame(out, 1, protocol.OpAuth, 2, []byte(token))
		if _, err := conn.Write(out); err == nil {
			if r.read(conn, stop, drop) {
				drop = nil // once
			}
		}
		conn.Close()
		next++ // the edge it was on may be gone: try the next one first
	}
}

// read handles frames until the connection ends, stop closes or drop
// does (then it reports true).
func (r *resumer) read(conn net.Conn, stop, drop <-chan struct{}) bool {
	var buf []byte
	for {
		select {
		case <-stop:
			return false
		case <-drop:
			return true
		default:
		}
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		f, b, err := protocol.ReadFrame(conn, buf, 1<<20)
		buf = b
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err != nil {
			r.mu.Lock()
			r.lastError = err
			r.mu.Unlock()
			return false
		}
		r.handle(f)
	}
}

func (r *resumer) handle(f protocol.Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch f.Op {
	case protocol.OpPositioned:
		p, err := protocol.ParsePositioned(f.Body)
		if err != nil {
			r.t.Errorf("%s: op 28: %v", r.name, err)
			return
		}
		last := r.pos[p.Stream]
		if last.Epoch == p.Epoch && p.Offset <= last.Offset {
			r.dups++
			r.t.Logf("%s: duplicate %s %s:%d on connection %d (holds %d)", r.name, p.Stream, p.Epoch, p.Offset, r.connects, last.Offset)
			return
		}
		r.pos[p.Stream] = protocol.StreamPos{Stream: p.Stream, Epoch: p.Epoch, Offset: p.Offset}
		r.offsets[p.Stream] = append(r.offsets[p.Stream], p.Offset)
		r.bodies[p.Stream] = append(r.bodies[p.Stream], string(p.Body))
	case protocol.OpResumeReply:
		var rep protocol.ResumeReply
		if err := json.Unmarshal(f.Body, &rep); err != nil {
			r.t.Errorf("%s: op 27 %q: %v", r.name, f.Body, err)
			return
		}
		r.verdicts = append(r.verdicts, rep.Streams...)
	case protocol.OpAuthReply, protocol.OpHeartbeatReply:
	default:
		r.t.Errorf("%s: unexpected op %d (a positioned device gets op 28 for its streams)", r.name, f.Op)
	}
}

// at is the device's last offset in stream.
func (r *resumer) at(stream string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos[stream].Offset
}

// pushPos posts a push with positions=1 and returns the message's
// position in its (single) stream.
func pushPos(t *testing.T, httpAddr, route string, q url.Values, body string) (protocol.StreamPos, error) {
	q.Set("positions", "1")
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post("http://"+httpAddr+route+"?"+q.Encode(), "text/plain", strings.NewReader(body))
	if err != nil {
		return protocol.StreamPos{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Code int `json:"code"`
		Data struct {
			Positions []protocol.StreamPos `json:"positions"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Code != 0 || len(out.Data.Positions) != 1 {
		return protocol.StreamPos{}, fmt.Errorf("push %s: %d %s", route, resp.StatusCode, raw)
	}
	return out.Data.Positions[0], nil
}

// recoveryRun pushes rounds of messages — one to the room, one to each
// device's user — while disrupt (called once, after a third of the
// rounds) cuts devices off; then it waits for every device to hold every
// stream up to its last offset and checks each got every message exactly
// once, in order.
func recoveryRun(t *testing.T, httpAddr string, devs []*resumer, rounds int, disrupt func()) {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, d := range devs {
		wg.Go(func() { d.run(stop) })
	}
	defer func() { close(stop); wg.Wait() }()
	room := devs[0].room
	_, roomID, _ := strings.Cut(room, "://")
	// Every device is connected and resumed before the first push.
	waitFor(t, "every device resumed", 15*time.Second, func() bool {
		for _, d := range devs {
			d.mu.Lock()
			n := len(d.verdicts)
			d.mu.Unlock()
			if n < 2 {
				return false
			}
		}
		return true
	})
	final := map[string]int64{}
	sent := 0
	for i := 1; i <= rounds; i++ {
		if i == rounds/3 {
			disrupt()
		}
		p, err := pushPos(t, httpAddr, "/goim/push/room", url.Values{"operation": {"1000"}, "type": {"live"}, "room": {roomID}}, fmt.Sprint("r", i))
		if err != nil {
			t.Fatal(err)
		}
		final[p.Stream] = p.Offset
		sent++
		for _, d := range devs {
			p, err := pushPos(t, httpAddr, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {fmt.Sprint(d.mid)}}, fmt.Sprintf("u%d-%d", d.mid, i))
			if err != nil {
				t.Fatal(err)
			}
			final[p.Stream] = p.Offset
			sent++
		}
		time.Sleep(10 * time.Millisecond) // a steady stream
	}
	waitFor(t, "every device caught up", 30*time.Second, func() bool {
		for _, d := range devs {
			for _, s := range d.streams() {
				if d.at(s) < final[s] {
					return false
				}
			}
		}
		return true
	})
	delivered, dups, lost := 0, 0, 0
	for _, d := range devs {
		d.mu.Lock()
		dups += d.dups
		for _, s := range d.streams() {
			offs := d.offsets[s]
			delivered += len(offs)
			for j, o := range offs {
				if o != int64(j+1) {
					t.Errorf("%s: %s offsets %v: want 1..%d once each, in order", d.name, s, offs, final[s])
					break
				}
			}
			lost += int(final[s]) - len(offs)
		}
		for _, v := range d.verdicts {
			if !v.Recovered {
				t.Errorf("%s: verdict %+v, want recovered", d.name, v)
			}
		}
		if d.mustReconnect && d.connects < 2 {
			t.Errorf("%s: connected %d times, want a reconnect", d.name, d.connects)
		}
		d.mu.Unlock()
	}
	// Each device expects the room's messages and its own user's.
	want := len(devs) * (2 * rounds)
	t.Logf("recovery: pushes sent %d; messages expected by devices %d, delivered %d, lost %d, duplicates seen by devices %d", sent, want, delivered, lost, dups)
	if delivered != want || lost != 0 || dups != 0 {
		t.Fatalf("delivered %d of %d expected (lost %d), %d duplicates reached devices", delivered, want, lost, dups)
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterRecoveryAfterEdgeKill: devices in a room, each also pushed
// to by mid, half on each edge, receive a steady stream; edge-1 is
// SIGKILLed mid-stream; its devices reconnect to edge-2 with their last
// offsets and every device ends with every message exactly once, in
// order.
func TestClusterRecoveryAfterEdgeKill(t *testing.T) {
	c := startClusterWith(t, clusterOpts{
		edgeShutdown: "timeout = \"10s\"\ndrain_delay = \"2s\"\nclose_rate = 100",
		logicExtra:   testenv.HistoryConfig,
	})
	var devs []*resumer
	for i := range 8 {
		addrs := []string{c.edgeTCP[i%2], c.edgeTCP[(i+1)%2]}
		d := newResumer(t, fmt.Sprint("kill-", i), int64(700+i), "live://kill", addrs...)
		d.mustReconnect = i%2 == 0 // on edge-1, which is killed
		devs = append(devs, d)
	}
	recoveryRun(t, c.httpAddr, devs, 60, func() {
		if err := c.edges[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStandaloneRecoveryAfterDrop: the same with the memory store in one
// standalone process; the devices end their own connections mid-stream
// (lost signal) and resume on the same server.
func TestStandaloneRecoveryAfterDrop(t *testing.T) {
	_, a := startStandalone(t, "-config", writeConfig(t, "history", testenv.HistoryConfig))
	var devs []*resumer
	for i := range 6 {
		d := newResumer(t, fmt.Sprint("drop-", i), int64(800+i), "live://drop", a.tcp)
		d.drop = make(chan struct{})
		d.mustReconnect = true
		devs = append(devs, d)
	}
	recoveryRun(t, a.http, devs, 60, func() {
		for _, d := range devs {
			close(d.drop)
		}
	})
}
