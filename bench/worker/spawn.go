package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// Handle is the parent's side of one worker.
type Handle struct {
	// Events delivers the worker's events in order; it is closed when the
	// worker's output ends.
	Events <-chan Event

	mu    sync.Mutex
	stdin io.WriteCloser
	enc   *json.Encoder
	wait  func() error
	kill  func()
	done  chan struct{}
	err   error
}

// Send writes one command to the worker.
func (h *Handle) Send(c Command) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.enc.Encode(c); err != nil {
		return fmt.Errorf("worker: send %s: %w", c.Cmd, err)
	}
	return nil
}

// Wait returns once the worker has exited, with its exit error.
func (h *Handle) Wait() error {
	<-h.done
	return h.err
}

// Kill ends the worker at once (used when the parent gives up on it).
func (h *Handle) Kill() { h.kill() }

// CloseInput closes the worker's stdin, which makes it finish and exit.
func (h *Handle) CloseInput() error { return h.stdin.Close() }

func start(spec Spec, stdin io.WriteCloser, stdout io.Reader, wait func() error, kill func()) (*Handle, error) {
	events := make(chan Event, 64)
	h := &Handle{Events: events, stdin: stdin, enc: json.NewEncoder(stdin), wait: wait, kill: kill, done: make(chan struct{})}
	go func() {
		defer close(events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 256<<20)
		for sc.Scan() {
			var ev Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				events <- Event{Ev: EvError, Worker: spec.Worker, Error: fmt.Sprintf("worker: bad event line: %v", err)}
				continue
			}
			events <- ev
		}
		if err := sc.Err(); err != nil {
			events <- Event{Ev: EvError, Worker: spec.Worker, Error: fmt.Sprintf("worker: read events: %v", err)}
		}
		h.err = h.wait()
		close(h.done)
	}()
	if err := h.Send(Command{Cmd: CmdStart, Spec: &spec}); err != nil {
		kill()
		return nil, err
	}
	return h, nil
}

// StartProcess runs a worker as a child process: the executable exe (the
// bench binary itself) with EnvWorker=1. Its stderr goes to stderr.
func StartProcess(exe string, spec Spec, stderr io.Writer) (*Handle, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), EnvWorker+"=1")
	cmd.Stderr = stderr
	// Its own process group, so a terminal's Ctrl-C reaches the parent
	// first, which then finishes the workers cleanly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("worker: stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("worker: stdout pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("worker: start %s: %w", exe, err)
	}
	kill := func() { _ = cmd.Process.Kill() }
	return start(spec, stdin, stdout, cmd.Wait, kill)
}

// ServeIfChild is the child's side of StartProcess: in a process started
// with EnvWorker=1 it serves the worker protocol on stdin and stdout and
// exits (status 1, the error on stderr, if the worker failed); anywhere
// else it returns at once. The bench's main, and the TestMain of tests
// whose binary StartProcess re-executes, call it first.
func ServeIfChild() {
	if os.Getenv(EnvWorker) != "1" {
		return
	}
	if err := Serve(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench worker: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// StartInProcess runs a worker on goroutines of this process, over pipes,
// with the same protocol as a child: for small runs and tests.
func StartInProcess(ctx context.Context, spec Spec) (*Handle, error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		err := Serve(ctx, inR, outW)
		outW.Close()
		inR.Close()
		served <- err
	}()
	wait := func() error {
		err := <-served
		cancel()
		return err
	}
	kill := func() {
		cancel()
		inW.Close()
	}
	return start(spec, inW, outR, wait, kill)
}
