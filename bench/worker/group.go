package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Group is the parent's view of all its workers: it consumes their events,
// keeps the latest progress of each, and waits for phases across all.
type Group struct {
	handles []*Handle

	mu        sync.Mutex
	progress  map[int]Progress
	connected map[int]*ConnectReport
	results   map[int]*Result
	errs      []error
	exited    int
	// disconnected and reconnected collect the answers to the current
	// CmdDisconnect or CmdReconnect.
	disconnected map[int]Progress
	reconnected  map[int]*ConnectReport
}

// Launch says how to start workers.
type Launch struct {
	// InProcess runs workers on goroutines (tests, small runs); otherwise
	// each is a child process of Exe.
	InProcess bool
	Exe       string
	// Stderr receives the children's stderr.
	Stderr io.Writer
}

// StartGroup starts one worker per spec.
func StartGroup(ctx context.Context, specs []Spec, l Launch) (*Group, error) {
	g := &Group{progress: map[int]Progress{}, connected: map[int]*ConnectReport{}, results: map[int]*Result{},
		disconnected: map[int]Progress{}, reconnected: map[int]*ConnectReport{}}
	for _, s := range specs {
		var h *Handle
		var err error
		if l.InProcess {
			h, err = StartInProcess(ctx, s)
		} else {
			h, err = StartProcess(l.Exe, s, l.Stderr)
		}
		if err != nil {
			g.Kill()
			return nil, err
		}
		g.handles = append(g.handles, h)
		go g.consume(h)
	}
	return g, nil
}

func (g *Group) consume(h *Handle) {
	for ev := range h.Events {
		g.mu.Lock()
		switch ev.Ev {
		case EvProgress:
			if ev.Progress != nil {
				g.progress[ev.Worker] = *ev.Progress
			}
		case EvConnected:
			if ev.Connected != nil {
				g.connected[ev.Worker] = ev.Connected
				prev := g.progress[ev.Worker]
				g.progress[ev.Worker] = Progress{Up: ev.Connected.Up, Failed: ev.Connected.Failed, Lost: prev.Lost, Received: prev.Received, Verdicts: prev.Verdicts}
			}
		case EvDisconnected:
			if ev.Progress != nil {
				g.disconnected[ev.Worker] = *ev.Progress
			}
		case EvReconnected:
			if ev.Connected != nil {
				g.reconnected[ev.Worker] = ev.Connected
			}
		case EvResult:
			if ev.Result != nil {
				g.results[ev.Worker] = ev.Result
			}
		case EvError:
			g.errs = append(g.errs, fmt.Errorf("worker %d: %s", ev.Worker, ev.Error))
		}
		g.mu.Unlock()
	}
	err := h.Wait()
	g.mu.Lock()
	g.exited++
	if err != nil {
		g.errs = append(g.errs, fmt.Errorf("worker exited: %w", err))
	}
	g.mu.Unlock()
}

// Progress sums the workers' latest progress.
func (g *Group) Progress() Progress {
	g.mu.Lock()
	defer g.mu.Unlock()
	var p Progress
	for _, w := range g.progress {
		p.Up += w.Up
		p.Failed += w.Failed
		p.Lost += w.Lost
		p.Received += w.Received
		p.Verdicts += w.Verdicts
	}
	return p
}

// Err is every worker error so far, joined.
func (g *Group) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}

// waitFor polls until done reports true, a worker fails, or timeout.
func (g *Group) waitFor(ctx context.Context, what string, timeout time.Duration, done func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		g.mu.Lock()
		ok, errs, exited := done(), errors.Join(g.errs...), g.exited
		g.mu.Unlock()
		switch {
		case ok:
			return nil
		case errs != nil:
			return fmt.Errorf("worker: %s: %w", what, errs)
		case exited == len(g.handles):
			return fmt.Errorf("worker: %s: every worker exited", what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("worker: %s: %w", what, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("worker: %s: timed out after %v", what, timeout)
		case <-tick.C:
		}
	}
}

// WaitConnected waits until every worker has attempted all its devices and
// returns their reports in worker order.
func (g *Group) WaitConnected(ctx context.Context, timeout time.Duration) ([]*ConnectReport, error) {
	if err := g.waitFor(ctx, "connect", timeout, func() bool { return len(g.connected) == len(g.handles) }); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return ordered(g.connected), nil
}

// Disconnect closes every worker's devices, keeping their state, waits
// until all are closed, and returns the room verdicts the devices got
// until then (Progress.Verdicts, final while they are away).
func (g *Group) Disconnect(ctx context.Context, timeout time.Duration) (verdicts int, err error) {
	g.mu.Lock()
	g.disconnected = map[int]Progress{}
	g.mu.Unlock()
	if err := g.sendAll(Command{Cmd: CmdDisconnect}); err != nil {
		return 0, err
	}
	if err := g.waitFor(ctx, "disconnect", timeout, func() bool { return len(g.disconnected) == len(g.handles) }); err != nil {
		return 0, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range g.disconnected {
		verdicts += p.Verdicts
	}
	return verdicts, nil
}

// Reconnect connects every worker's devices again at once, each expected
// to recover expect messages from its room, and returns the workers'
// reports of the reconnects, in worker order, once every device was
// attempted.
func (g *Group) Reconnect(ctx context.Context, expect int, timeout time.Duration) ([]*ConnectReport, error) {
	g.mu.Lock()
	g.reconnected = map[int]*ConnectReport{}
	g.mu.Unlock()
	if err := g.sendAll(Command{Cmd: CmdReconnect, Expect: expect}); err != nil {
		return nil, err
	}
	if err := g.waitFor(ctx, "reconnect", timeout, func() bool { return len(g.reconnected) == len(g.handles) }); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return ordered(g.reconnected), nil
}

func (g *Group) sendAll(c Command) error {
	for _, h := range g.handles {
		if err := h.Send(c); err != nil {
			return err
		}
	}
	return nil
}

// Finish asks every worker for its result, waits for them, and returns
// them in worker order.
func (g *Group) Finish(ctx context.Context, timeout time.Duration) ([]*Result, error) {
	for _, h := range g.handles {
		if err := h.Send(Command{Cmd: CmdFinish}); err != nil {
			return nil, err
		}
	}
	if err := g.waitFor(ctx, "finish", timeout, func() bool { return len(g.results) == len(g.handles) }); err != nil {
		return nil, err
	}
	for _, h := range g.handles {
		_ = h.CloseInput()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return ordered(g.results), nil
}

// Kill ends every worker at once.
func (g *Group) Kill() {
	for _, h := range g.handles {
		h.Kill()
	}
}

// Close closes the workers' inputs (they finish and exit) and waits up to
// timeout before killing the stragglers.
func (g *Group) Close(timeout time.Duration) {
	for _, h := range g.handles {
		_ = h.CloseInput()
	}
	deadline := time.After(timeout)
	for _, h := range g.handles {
		select {
		case <-h.done:
		case <-deadline:
			g.Kill()
			return
		}
	}
}

func ordered[T any](m map[int]T) []T {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}
