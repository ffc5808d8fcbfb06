package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goim-edge/goim-edge/protocol"
)

// Engines a TCP device can be read by (Options.Engine).
const (
	// EnginePoll, the default, reads every device of the process from a
	// few epoll loops (one per GOMAXPROCS, at most maxPollLoops) sharing
	// one read buffer each: an idle device is a socket and a small struct,
	// with no goroutine and no buffer.
	EnginePoll = "poll"
	// EngineGoroutine reads each device on a goroutine of its own through
	// a 4 KiB bufio.Reader, as the bench did before EnginePoll: about
	// 10 KiB per idle device.
	EngineGoroutine = "goroutine"
)

// maxPollLoops caps the event loops of the process: more only split the
// same cores further.
const maxPollLoops = 4

// pollReadSize is each loop's shared read buffer: one read takes every
// frame a fan-out burst left on a socket, and a frame larger than this is
// collected in that device's own pending buffer.
const pollReadSize = 64 << 10

// authReadSize is the buffer a poll device reads its auth reply with; it
// goes back to authBufs once the device is handed to its loop, so a
// connect storm does not churn a buffer per device.
const authReadSize = 4096

var authBufs = sync.Pool{New: func() any { b := make([]byte, authReadSize); return &b }}

// pollConn is a TCP device read by an epoll loop (EnginePoll). Between
// Connect and Start it belongs to its caller; from Start on, only the
// loop reads it, calls its Handler and closes its fd, so Close and
// Heartbeat on other goroutines never race a reuse of the fd number.
// A heartbeat waiting for room in a full send buffer (up to writeTimeout)
// holds mu, so the loop ending that device waits for it too, with every
// other device of the loop: only a server that stops reading without
// closing can cause that.
type pollConn struct {
	loop *pollLoop
	// mu guards fd against being closed during a heartbeat write.
	mu sync.Mutex
	// fd is the socket, -1 once closed; gen tells this registration's
	// epoll events from those of an earlier socket with the same number.
	fd  int32
	gen uint32
	// registered: the loop owns fd (set under mu by Start).
	registered bool
	closing    atomic.Bool
	seq        atomic.Int32
	// reads counts socket reads that returned data or an end (loop and
	// auth only; read it after Serve returned).
	reads int64
	split splitter
	h     Handler
	rec   Recovery
	done  func(error)
}

func connectPoll(ctx context.Context, o Options, resume, token []byte) (*pollConn, error) {
	loop, err := pollLoops()
	if err != nil {
		return nil, err
	}
	c, err := dialer(o).DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("device: dial %s: %w", o.Addr, err)
	}
	defer c.Close() // the socket lives on in the dup'ed fd
	p := &pollConn{loop: loop, fd: -1}
	p.seq.Store(authSeq)
	rest, err := p.auth(ctx, c, resume, token)
	if err != nil {
		return nil, err
	}
	fd, err := dupFD(c.(*net.TCPConn))
	if err != nil {
		return nil, err
	}
	p.fd = int32(fd)
	// Frames that came with the auth reply, dispatched by Start.
	p.split.pending = rest
	return p, nil
}

// dupFD duplicates the connection's socket (non-blocking, as the Go
// runtime keeps it) so that closing c leaves it open for a loop.
func dupFD(c *net.TCPConn) (int, error) {
	sc, err := c.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("device: raw conn: %w", err)
	}
	fd, derr := -1, error(nil)
	if err := sc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, fmt.Errorf("device: raw conn: %w", err)
	}
	if derr != nil {
		return -1, fmt.Errorf("device: dup socket: %w", derr)
	}
	return fd, nil
}

// auth sends the token (after the op-26 frame when resume is set, in one
// write) and reads until the auth reply, with a pooled buffer. It returns
// a copy of what arrived after the reply (nil: nothing).
func (p *pollConn) auth(ctx context.Context, c net.Conn, resume, token []byte) ([]byte, error) {
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline)
	if _, err := c.Write(protocol.AppendFrame(resume, 1, protocol.OpAuth, authSeq, token)); err != nil {
		return nil, fmt.Errorf("device: send auth: %w", err)
	}
	pb := authBufs.Get().(*[]byte)
	defer authBufs.Put(pb)
	buf := (*pb)[:0]
	for {
		for {
			f, n, err := protocol.Decode(buf, maxServerFrame)
			if errors.Is(err, protocol.ErrShort) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("device: await auth reply: %w", err)
			}
			buf = buf[n:]
			if f.Op == protocol.OpAuthReply {
				if f.Seq != authSeq {
					return nil, fmt.Errorf("device: auth reply seq %d, want %d", f.Seq, authSeq)
				}
				if len(buf) == 0 {
					return nil, nil
				}
				return append([]byte(nil), buf...), nil // buf goes back to the pool
			}
			// Anything else before the reply is unexpected but harmless.
		}
		want := authReadSize
		if h, err := protocol.ParseHeader(buf, maxServerFrame); err == nil {
			want = max(want, int(h.PackLen))
		}
		if cap(buf) < want || len(buf) == cap(buf) {
			buf = append(make([]byte, 0, want), buf...)
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		p.reads++
		buf = buf[:len(buf)+n]
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil, ErrAuthRefused
			}
			return nil, fmt.Errorf("device: await auth reply: %w", err)
		}
	}
}

// Start dispatches what came with the auth reply, then hands the socket
// to its loop; done is called once, on the loop, when it ends.
func (p *pollConn) Start(h Handler, done func(error)) {
	p.h, p.done = h, done
	p.rec, _ = h.(Recovery)
	if rest := p.split.pending; len(rest) > 0 {
		p.split.pending = nil
		if err := p.split.feed(rest, p.dispatch); err != nil {
			p.mu.Lock()
			_ = p.closeFD()
			p.mu.Unlock()
			done(readErr(err))
			return
		}
	}
	p.mu.Lock()
	if p.closing.Load() || p.fd < 0 {
		_ = p.closeFD()
		p.mu.Unlock()
		done(closedErr())
		return
	}
	if err := p.loop.add(p); err != nil {
		_ = p.closeFD()
		p.mu.Unlock()
		done(err)
		return
	}
	p.registered = true
	p.mu.Unlock()
}

// Serve is Start waiting for the end.
func (p *pollConn) Serve(h Handler) error {
	end := make(chan error, 1)
	p.Start(h, func(err error) { end <- err })
	return <-end
}

func (p *pollConn) dispatch(f protocol.Frame) error {
	if err := dispatch(f, p.h, p.rec); err != nil {
		return dispatchError{err}
	}
	return nil
}

// dispatchError marks an error of dispatch, which Serve returns as it is
// (as the goroutine engine does), from a stream error, which it wraps.
type dispatchError struct{ err error }

func (e dispatchError) Error() string { return e.err.Error() }

// readErr is what Serve returns for an error of splitter.feed.
func readErr(err error) error {
	var de dispatchError
	if errors.As(err, &de) {
		return de.err
	}
	return fmt.Errorf("device: read: %w", err)
}

// Heartbeat writes one heartbeat frame; a socket whose send buffer stays
// full for writeTimeout fails it, as a deadline does on the other engine.
func (p *pollConn) Heartbeat() error {
	var b [protocol.HeaderLen]byte
	frame := protocol.AppendFrame(b[:0], 1, protocol.OpHeartbeat, p.seq.Add(1), nil)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd < 0 || p.closing.Load() {
		return fmt.Errorf("device: heartbeat: %w", net.ErrClosed)
	}
	if err := writeAll(int(p.fd), frame, time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("device: heartbeat: %w", err)
	}
	return nil
}

// writeAll writes b to the non-blocking socket fd, waiting for room until
// deadline.
func writeAll(fd int, b []byte, deadline time.Time) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if n > 0 {
			b = b[n:]
		}
		switch {
		case err == nil, errors.Is(err, unix.EINTR):
			continue
		case !errors.Is(err, unix.EAGAIN):
			return os.NewSyscallError("write", err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if _, err := unix.Poll(pfd, int(left/time.Millisecond)+1); err != nil && !errors.Is(err, unix.EINTR) {
			return os.NewSyscallError("poll", err)
		}
	}
	return nil
}

// Close ends the connection. Once its loop owns the socket, Close shuts
// it down and the loop closes it and calls done; before Start it closes
// the socket at once.
func (p *pollConn) Close() error {
	if !p.closing.CompareAndSwap(false, true) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd < 0 {
		return nil
	}
	if !p.registered {
		return p.closeFD()
	}
	if err := unix.Shutdown(int(p.fd), unix.SHUT_RDWR); err != nil && !errors.Is(err, unix.ENOTCONN) {
		return fmt.Errorf("device: shutdown: %w", err)
	}
	return nil
}

// closeFD closes the socket; p.mu is held.
func (p *pollConn) closeFD() error {
	if p.fd < 0 {
		return nil
	}
	err := unix.Close(int(p.fd))
	p.fd = -1
	if err != nil {
		return fmt.Errorf("device: close: %w", err)
	}
	return nil
}

func (p *pollConn) Reads() int64 { return p.reads }

// closedErr is what Serve returns after a Close by us, as on the
// goroutine engine.
func closedErr() error { return fmt.Errorf("device: read: %w", net.ErrClosed) }

// pollLoop is one epoll instance and the goroutine that waits on it.
type pollLoop struct {
	epfd int
	mu   sync.Mutex
	// conns is indexed by fd; gens counts registrations.
	conns []*pollConn
	gen   uint32
}

var (
	loopsOnce sync.Once
	loops     []*pollLoop
	loopsErr  error
	loopNext  atomic.Uint32
)

// pollLoops returns the next of the process's loops, starting them on
// first use. They run for the life of the process.
func pollLoops() (*pollLoop, error) {
	loopsOnce.Do(func() {
		n := min(runtime.GOMAXPROCS(0), maxPollLoops)
		for range n {
			fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
			if err != nil {
				loopsErr = fmt.Errorf("device: epoll: %w", err)
				return
			}
			l := &pollLoop{epfd: fd}
			loops = append(loops, l)
			go l.run()
		}
	})
	if loopsErr != nil {
		return nil, loopsErr
	}
	return loops[loopNext.Add(1)%uint32(len(loops))], nil
}

// add registers p (whose mu is held) with the loop.
func (l *pollLoop) add(p *pollConn) error {
	fd := int(p.fd)
	l.mu.Lock()
	if fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*pollConn, fd+1-len(l.conns)+len(l.conns)/2)...)
	}
	l.gen++
	p.gen = l.gen
	l.conns[fd] = p
	l.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd), Pad: int32(p.gen)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.mu.Lock()
		l.conns[fd] = nil
		l.mu.Unlock()
		return fmt.Errorf("device: epoll add: %w", err)
	}
	return nil
}

// run waits for readable sockets and reads each once per wakeup
// (level-triggered: a socket with more left is reported again).
func (l *pollLoop) run() {
	events := make([]unix.EpollEvent, 256)
	ready := make([]*pollConn, 0, len(events))
	buf := make([]byte, pollReadSize)
	for {
		n, err := unix.EpollWait(l.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			panic(fmt.Sprintf("device: epoll wait: %v", err)) // a bad epfd: a bug, not a run condition
		}
		ready = ready[:0]
		l.mu.Lock()
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd < len(l.conns) && l.conns[fd] != nil && l.conns[fd].gen == uint32(ev.Pad) {
				ready = append(ready, l.conns[fd])
			}
		}
		l.mu.Unlock()
		for _, p := range ready {
			l.serve(p, buf)
		}
	}
}

// serve reads p once and dispatches the whole frames read.
func (l *pollLoop) serve(p *pollConn, buf []byte) {
	if p.fd < 0 {
		return // ended earlier in this batch
	}
	if p.closing.Load() {
		l.end(p, closedErr())
		return
	}
	n, err := unix.Read(int(p.fd), buf)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		return
	}
	p.reads++
	switch {
	case p.closing.Load():
		l.end(p, closedErr())
	case err != nil:
		l.end(p, fmt.Errorf("device: read: %w", p.split.failed(os.NewSyscallError("read", err))))
	case n == 0:
		l.end(p, fmt.Errorf("device: read: %w", p.split.eof()))
	default:
		if err := p.split.feed(buf[:n], p.dispatch); err != nil {
			l.end(p, readErr(err))
		}
	}
}

// end unregisters and closes p's socket, then calls its done.
func (l *pollLoop) end(p *pollConn, err error) {
	p.mu.Lock()
	fd := int(p.fd)
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	l.mu.Lock()
	if fd < len(l.conns) && l.conns[fd] == p {
		l.conns[fd] = nil
	}
	l.mu.Unlock()
	_ = p.closeFD()
	p.split.pending = nil
	p.mu.Unlock()
	p.done(err)
}
