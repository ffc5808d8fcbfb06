package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/goim-edge/goim-edge/bench/device"
	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/procstat"
	"github.com/goim-edge/goim-edge/bench/tally"
)

// Serve runs one worker: it reads Commands from in and writes Events to
// out until CmdFinish or the end of in, then returns. Errors that stop the
// worker are also sent as EvError.
func Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	em := &emitter{enc: json.NewEncoder(out)}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var first Command
	if err := readCommand(sc, &first); err != nil {
		return em.fail(-1, fmt.Errorf("worker: first command: %w", err))
	}
	if first.Cmd != CmdStart || first.Spec == nil {
		return em.fail(-1, fmt.Errorf("worker: first command %q, want %q with a spec", first.Cmd, CmdStart))
	}
	spec := *first.Spec
	if err := spec.validate(); err != nil {
		return em.fail(spec.Worker, err)
	}
	w := newFleet(spec, em)

	finish := make(chan struct{})
	ops := make(chan Command)
	go func() {
		// CmdFinish or EOF ends the run (EOF means the parent is gone);
		// disconnect and reconnect are run in order by the loop below.
		var c Command
		for {
			err := readCommand(sc, &c)
			if err != nil || c.Cmd == CmdFinish {
				break
			}
			if c.Cmd != CmdDisconnect && c.Cmd != CmdReconnect {
				em.send(Event{Ev: EvError, Worker: spec.Worker, Error: fmt.Sprintf("worker: unknown command %q ignored", c.Cmd)})
				continue
			}
			select {
			case ops <- c:
			case <-ctx.Done():
			}
		}
		close(finish)
	}()

	progressDone := make(chan struct{})
	go w.progressLoop(ctx, progressDone)
	connected := make(chan struct{})
	go func() {
		w.connectAll(ctx, finish)
		close(connected)
	}()

	select {
	case <-connected:
		em.send(Event{Ev: EvConnected, Worker: spec.Worker, Connected: w.connectReport()})
		w.startHeartbeats(ctx)
		w.commands(ctx, ops, finish)
	case <-finish:
		cancel() // stop connecting
		<-connected
	}
	cancel()
	<-progressDone
	res := w.finish()
	em.send(Event{Ev: EvResult, Worker: spec.Worker, Result: res})
	return em.err()
}

// commands runs disconnects and reconnects until finish.
func (f *fleet) commands(ctx context.Context, ops <-chan Command, finish <-chan struct{}) {
	for {
		select {
		case <-finish:
			return
		case c := <-ops:
			switch c.Cmd {
			case CmdDisconnect:
				f.disconnect()
				p := &Progress{}
				if f.resume != nil {
					p.Verdicts = int(f.resume.judged.Load())
				}
				f.em.send(Event{Ev: EvDisconnected, Worker: f.spec.Worker, Progress: p})
			case CmdReconnect:
				rep := f.reconnect(ctx, c.Expect)
				f.em.send(Event{Ev: EvReconnected, Worker: f.spec.Worker, Connected: rep})
			}
		}
	}
}

func readCommand(sc *bufio.Scanner, c *Command) error {
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	*c = Command{}
	return json.Unmarshal(sc.Bytes(), c)
}

func (s *Spec) validate() error {
	switch {
	case s.Transport != device.TCP && s.Transport != device.WS:
		return fmt.Errorf("worker: transport %q, want %s or %s", s.Transport, device.TCP, device.WS)
	case s.Engine != "" && s.Engine != device.EngineGoroutine && s.Engine != device.EnginePoll:
		return fmt.Errorf("worker: engine %q, want %s or %s", s.Engine, device.EngineGoroutine, device.EnginePoll)
	case len(s.Addrs) == 0:
		return errors.New("worker: no server address")
	case s.Count < 0 || s.First < 0:
		return fmt.Errorf("worker: bad device range %d+%d", s.First, s.Count)
	}
	for _, src := range s.Sources {
		if net.ParseIP(src) == nil {
			return fmt.Errorf("worker: source address %q is not an IP", src)
		}
	}
	return nil
}

// emitter serialises events onto the output.
type emitter struct {
	mu      sync.Mutex
	enc     *json.Encoder
	lastErr error
}

func (e *emitter) send(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.enc.Encode(ev); err != nil && e.lastErr == nil {
		e.lastErr = fmt.Errorf("worker: write event: %w", err)
	}
}

func (e *emitter) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastErr
}

func (e *emitter) fail(worker int, err error) error {
	e.send(Event{Ev: EvError, Worker: worker, Error: err.Error()})
	return err
}

// fleet is the worker's devices.
type fleet struct {
	spec    Spec
	em      *emitter
	rec     *recorder
	sources []net.IP

	mu          sync.Mutex
	devs        []*dev
	failed      []int
	roomMembers map[string]int
	connLat     *hist.Histogram
	firstDial   int64
	lastAuth    int64

	up          atomic.Int64
	nFailed     atomic.Int64
	lost        atomic.Int64
	closing     atomic.Bool
	connectErrs errorCounts
	lostErrs    errorCounts
	readers     sync.WaitGroup

	heartbeats, hbErrors, hbReplies atomic.Int64
	onlineMin, onlineMax            atomic.Int32

	// hbStop and hbDone stop the running heartbeat loop (Serve's
	// goroutine only).
	hbStop func()
	hbDone chan struct{}
	// reads sums the reads of connections already closed by disconnect.
	reads atomic.Int64
	// resume is the positioned devices' account (nil without
	// Spec.Resume).
	resume *resumeAccount
	// onEnded is ended, made once rather than a method value per device.
	onEnded func(error)
}

func newFleet(spec Spec, em *emitter) *fleet {
	f := &fleet{spec: spec, em: em, rec: newRecorder(spec.Epoch, spec.Step), connLat: hist.New(), roomMembers: map[string]int{}}
	for _, s := range spec.Sources {
		f.sources = append(f.sources, net.ParseIP(s))
	}
	f.onEnded = f.ended
	f.onlineMin.Store(-1)
	f.onlineMax.Store(-1)
	if spec.Resume {
		f.resume = newResumeAccount()
	}
	return f
}

// dev is one connected device and its reader-owned state.
type dev struct {
	f    *fleet
	idx  int
	conn device.Conn
	seen tally.Seen
	// pos is set on positioned devices only (Spec.Resume).
	pos *positions
}

func (d *dev) Push(op int32, body []byte) {
	d.f.rec.arrive(d.idx, &d.seen, body, time.Now().UnixNano())
}

func (d *dev) HeartbeatReply(online int32) {
	f := d.f
	f.hbReplies.Add(1)
	for {
		cur := f.onlineMin.Load()
		if (cur != -1 && cur <= online) || f.onlineMin.CompareAndSwap(cur, online) {
			break
		}
	}
	for {
		cur := f.onlineMax.Load()
		if cur >= online || f.onlineMax.CompareAndSwap(cur, online) {
			break
		}
	}
}

func (f *fleet) connectAll(ctx context.Context, finish <-chan struct{}) {
	s := f.spec
	conc := max(s.Concurrency, 1)
	var lim *rate.Limiter
	if s.ConnectRate > 0 {
		lim = rate.NewLimiter(rate.Limit(s.ConnectRate), max(1, int(s.ConnectRate/10)))
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f.connectOne(ctx, i)
			}
		}()
	}
	for i := s.First; i < s.First+s.Count; i++ {
		if lim != nil && lim.Wait(ctx) != nil {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
		case <-finish:
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
}

// options and token are how device i connects; a positioned device asks
// to resume its streams from pos.
func (f *fleet) options(i int, pos *positions) device.Options {
	s := &f.spec
	o := device.Options{Transport: s.Transport, Addr: s.Addrs[i%len(s.Addrs)], Timeout: s.Timeout, Compress: s.Compress, Engine: s.Engine}
	if len(f.sources) > 0 {
		o.Source = f.sources[i%len(f.sources)]
	}
	if pos != nil {
		o.Resume = pos.request(f.room(i), s.MidBase+int64(i))
	}
	return o
}

func (f *fleet) token(i int) device.Token {
	s := &f.spec
	return device.Token{Mid: s.MidBase + int64(i), Key: s.Key(i), Platform: s.Platform, Accepts: s.Accepts, RoomID: f.room(i)}
}

func (f *fleet) room(i int) string {
	if len(f.spec.Rooms) == 0 {
		return ""
	}
	return f.spec.Rooms[i%len(f.spec.Rooms)]
}

func (f *fleet) connectOne(ctx context.Context, i int) {
	var pos *positions
	if f.resume != nil {
		pos = &positions{}
	}
	tok := f.token(i)
	start := time.Now()
	conn, err := device.Connect(ctx, f.options(i, pos), tok)
	done := time.Now()
	f.mu.Lock()
	if f.firstDial == 0 || start.UnixNano() < f.firstDial {
		f.firstDial = start.UnixNano()
	}
	if err != nil {
		f.failed = append(f.failed, i)
		f.mu.Unlock()
		f.nFailed.Add(1)
		f.connectErrs.add(err)
		return
	}
	d := &dev{f: f, idx: i, conn: conn, pos: pos}
	f.devs = append(f.devs, d)
	f.connLat.Record(done.Sub(start))
	f.lastAuth = max(f.lastAuth, done.UnixNano())
	f.roomMembers[tok.RoomID]++
	f.mu.Unlock()
	f.serve(d)
}

// serve reads d's connection until it ends (on a goroutine of its own or
// on the poll loops, as Spec.Engine says).
func (f *fleet) serve(d *dev) {
	f.readers.Add(1)
	f.up.Add(1)
	d.conn.Start(d, f.onEnded)
}

// ended accounts a connection whose reading ended.
func (f *fleet) ended(err error) {
	defer f.readers.Done()
	if !f.closing.Load() {
		f.lost.Add(1)
		f.up.Add(-1)
		f.lostErrs.add(err)
	}
}

// disconnect closes every device as an edge's death would, keeping what
// each holds, and returns once every reader has ended.
func (f *fleet) disconnect() {
	f.stopHeartbeats()
	f.closing.Store(true)
	f.mu.Lock()
	devs := f.devs
	f.mu.Unlock()
	for _, d := range devs {
		d.conn.Close()
	}
	f.readers.Wait()
	for _, d := range devs {
		f.reads.Add(d.conn.Reads())
	}
	f.up.Store(0)
	f.closing.Store(false)
}

// reconnect connects every device again at once (Spec.Concurrency at a
// time), positioned ones resuming from their positions, expecting expect
// messages each from their room, and reports the connects.
func (f *fleet) reconnect(ctx context.Context, expect int) *ConnectReport {
	f.mu.Lock()
	devs := append([]*dev(nil), f.devs...)
	f.mu.Unlock()
	if f.resume != nil {
		f.resume.expect.Store(int64(expect))
	}
	rep := &ConnectReport{Latency: hist.New()}
	var mu sync.Mutex
	var errs errorCounts
	next := make(chan *dev)
	var wg sync.WaitGroup
	for range max(f.spec.Concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range next {
				start := time.Now()
				if d.pos != nil {
					f.resume.reconnecting(d.pos, start.UnixNano())
				}
				conn, err := device.Connect(ctx, f.options(d.idx, d.pos), f.token(d.idx))
				done := time.Now()
				mu.Lock()
				if rep.FirstDial == 0 || start.UnixNano() < rep.FirstDial {
					rep.FirstDial = start.UnixNano()
				}
				if err != nil {
					rep.Failed++
					rep.FailedIndexes = append(rep.FailedIndexes, d.idx)
					mu.Unlock()
					errs.add(err)
					if d.pos != nil {
						f.resume.failed(d.pos)
					}
					continue
				}
				rep.Up++
				rep.Latency.Record(done.Sub(start))
				rep.LastAuth = max(rep.LastAuth, done.UnixNano())
				mu.Unlock()
				d.conn = conn
				f.serve(d)
			}
		}()
	}
	for _, d := range devs {
		select {
		case next <- d:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	rep.Errors = errs.snapshot()
	f.startHeartbeats(ctx)
	return rep
}

func (f *fleet) connectReport() *ConnectReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	rooms := make(map[string]int, len(f.roomMembers))
	for k, v := range f.roomMembers {
		rooms[k] = v
	}
	return &ConnectReport{
		Up:            len(f.devs),
		Failed:        len(f.failed),
		FirstDial:     f.firstDial,
		LastAuth:      f.lastAuth,
		Latency:       f.connLat,
		Errors:        f.connectErrs.snapshot(),
		FailedIndexes: append([]int(nil), f.failed...),
		RoomMembers:   rooms,
	}
}

func (f *fleet) progressLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	every := f.spec.ProgressEvery
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p := &Progress{Up: int(f.up.Load()), Failed: int(f.nFailed.Load()), Lost: int(f.lost.Load()), Received: f.rec.received()}
			if f.resume != nil {
				p.Verdicts = int(f.resume.judged.Load())
			}
			f.em.send(Event{Ev: EvProgress, Worker: f.spec.Worker, Progress: p})
		}
	}
}

// heartbeatTick is the heartbeat scheduler's granularity: each tick sends
// to the next slice of devices, so heartbeats are spread evenly over the
// interval instead of arriving at the server in one burst.
const heartbeatTick = 100 * time.Millisecond

// startHeartbeats runs heartbeatLoop until stopHeartbeats or ctx ends.
func (f *fleet) startHeartbeats(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	f.hbStop, f.hbDone = cancel, done
	go func() {
		defer close(done)
		f.heartbeatLoop(ctx)
	}()
}

// stopHeartbeats stops the heartbeat loop and waits for it: no heartbeat
// touches a connection after it returns.
func (f *fleet) stopHeartbeats() {
	if f.hbStop == nil {
		return
	}
	f.hbStop()
	<-f.hbDone
	f.hbStop, f.hbDone = nil, nil
}

func (f *fleet) heartbeatLoop(ctx context.Context) {
	if f.spec.Heartbeat <= 0 {
		return
	}
	f.mu.Lock()
	devs := append([]*dev(nil), f.devs...)
	f.mu.Unlock()
	if len(devs) == 0 {
		return
	}
	ticks := max(int(f.spec.Heartbeat/heartbeatTick), 1)
	per := (len(devs) + ticks - 1) / ticks
	t := time.NewTicker(heartbeatTick)
	defer t.Stop()
	next := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for range per {
			d := devs[next]
			next = (next + 1) % len(devs)
			f.heartbeats.Add(1)
			if err := d.conn.Heartbeat(); err != nil && !f.closing.Load() {
				f.hbErrors.Add(1)
			}
		}
	}
}

// finish closes every device, waits for their readers and builds the
// Result.
func (f *fleet) finish() *Result {
	f.stopHeartbeats()
	f.closing.Store(true)
	f.mu.Lock()
	devs := f.devs
	f.mu.Unlock()
	for _, d := range devs {
		d.conn.Close()
	}
	f.readers.Wait()
	reads := f.reads.Load()
	for _, d := range devs {
		reads += d.conn.Reads()
	}
	res := &Result{
		Reads:            reads,
		Lost:             int(f.lost.Load()),
		LostErrors:       f.lostErrs.snapshot(),
		Heartbeats:       f.heartbeats.Load(),
		HeartbeatErrors:  f.hbErrors.Load(),
		HeartbeatReplies: f.hbReplies.Load(),
		OnlineMin:        f.onlineMin.Load(),
		OnlineMax:        f.onlineMax.Load(),
	}
	f.rec.fill(res)
	if f.resume != nil {
		res.Resume = f.resume.result(devs)
	}
	if p, err := procstat.Read(os.Getpid()); err == nil {
		res.CPUSeconds = p.CPUSeconds
	}
	return res
}
