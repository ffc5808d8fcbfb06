package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goim-edge/goim-edge/protocol"
)

// Client is one device connection that reconnects until Close (or a
// refused token). Its methods are safe for concurrent use.
type Client struct {
	o      Options
	ctx    context.Context // ended by Close
	cancel context.CancelFunc

	items    chan item     // to the dispatcher, in order
	loopDone chan struct{} // the reconnect loop ended
	done     chan struct{} // everything ended

	seq    atomic.Uint32
	online atomic.Int32
	replay replayLog
	rec    *recovery

	mu    sync.Mutex
	sess  *session // nil while disconnected
	state State
	err   error // why the client stopped
}

// Dial starts a client and returns once it is connected and
// authenticated. Until then it retries with the reconnect policy; it
// fails when ctx ends, on ErrAuthRefused, or on bad options. After Dial
// returns the client reconnects by itself until Close.
func Dial(ctx context.Context, o Options) (*Client, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		o:        o,
		items:    make(chan item, o.MessageBuffer),
		loopDone: make(chan struct{}),
		done:     make(chan struct{}),
		rec:      newRecovery(o.Recovery),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	dispatched := make(chan struct{})
	go func() { c.dispatch(); close(dispatched) }()
	acked := make(chan struct{})
	if o.Recovery != nil && o.Recovery.AutoAck {
		go c.acker(acked)
	} else {
		close(acked)
	}
	go func() { <-c.loopDone; <-dispatched; <-acked; close(c.done) }()
	first := make(chan error, 1)
	go c.run(first)
	select {
	case err := <-first:
		if err != nil {
			_ = c.Close(context.Background())
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		_ = c.Close(context.Background())
		return nil, fmt.Errorf("client: dial: %w", ctx.Err())
	}
}

// Close stops the client: the connection is closed and every goroutine
// of the client ends. It waits for that (the callbacks finish what is
// queued) until ctx ends, and returns ctx's error if it had to give up.
func (c *Client) Close(ctx context.Context) error {
	c.cancel()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("client: close: %w", ctx.Err())
	}
}

// Done is closed when the client has stopped (Close or ErrAuthRefused)
// and all its goroutines have ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the client stopped (ErrClosed, ErrAuthRefused), nil while
// it runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// State is the current connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Addr is the address of the current connection ("" while disconnected).
func (c *Client) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return ""
	}
	return c.sess.addr
}

// Online is the room online count of the last heartbeat reply (the
// connection's primary room; 0 without a room or before a reply).
func (c *Client) Online() int32 { return c.online.Load() }

func (c *Client) nextSeq() int32 {
	for {
		if s := int32(c.seq.Add(1) & 0x7fffffff); s != 0 {
			return s
		}
	}
}

func (c *Client) session() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// emit hands ev to the dispatcher and records the state.
func (c *Client) emit(ev Event) {
	ev.Time = time.Now()
	c.mu.Lock()
	if ev.State != Resumed {
		c.state = ev.State
	}
	c.mu.Unlock()
	c.items <- item{ev: &ev} // the dispatcher runs until run closes items
}

// dispatch calls the callbacks in order until items is closed.
func (c *Client) dispatch() {
	for it := range c.items {
		switch {
		case it.msg != nil:
			if c.o.OnMessage != nil {
				c.o.OnMessage(*it.msg)
			}
			if it.msg.Stream != "" && c.rec.processed(it.msg) && c.o.Recovery != nil && c.o.Recovery.AutoAck {
				c.rec.noteAck(it.msg, c.o.Recovery.AckEvery)
			}
		case it.ev != nil:
			if c.o.OnState != nil {
				c.o.OnState(*it.ev)
			}
			if it.ev.State == Resumed {
				c.rec.verdicts(it.ev.Verdicts, false)
			}
		}
	}
}

// run is the reconnect loop; first gets the outcome of the first connect.
func (c *Client) run(first chan<- error) {
	defer close(c.loopDone)
	defer close(c.items)
	var (
		failures, refusals int
		reported           bool
	)
	stop := func(err error) {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		c.emit(Event{State: Stopped, Err: err})
		if !reported {
			first <- err
		}
	}
	for {
		if c.ctx.Err() != nil {
			stop(ErrClosed)
			return
		}
		s, err := c.connect(&refusals)
		if err == nil {
			refusals = 0
			c.mu.Lock()
			c.sess = s
			c.mu.Unlock()
			c.emit(Event{State: Connected, Addr: s.addr})
			if !reported {
				reported = true
				first <- nil
			}
			s.start()
			// Recovery (docs/recovery.md): the positions went out right
			// before the auth frame (dialAuth); the rooms the replay joins
			// are resumed as each join succeeds.
			c.applyReplay(s)
			err = s.wait()
			c.mu.Lock()
			c.sess = nil
			c.mu.Unlock()
			if time.Since(s.started) >= c.o.Backoff.ResetAfter {
				failures = 0
			}
			if c.ctx.Err() != nil {
				c.emit(Event{State: Disconnected, Addr: s.addr, Err: ErrClosed})
				stop(ErrClosed)
				return
			}
			c.emit(Event{State: Disconnected, Addr: s.addr, Err: err})
		} else if errors.Is(err, ErrAuthRefused) {
			stop(err)
			return
		} else if c.ctx.Err() != nil {
			stop(ErrClosed)
			return
		}
		delay := c.o.Backoff.Delay(failures, rand.Float64())
		failures++
		c.emit(Event{State: Reconnecting, Err: err, Attempt: failures, Delay: delay})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
		}
	}
}

// addrs is what to dial this round: the node list, else Addrs.
func (c *Client) addrs() ([]string, error) {
	if c.o.NodesURL == "" {
		return c.o.Addrs, nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.o.DialTimeout)
	defer cancel()
	nodes, err := fetchNodes(ctx, &c.o)
	if err == nil && len(nodes) > 0 {
		return nodes, nil
	}
	if len(c.o.Addrs) > 0 {
		return c.o.Addrs, nil
	}
	if err == nil {
		err = ErrNoAddress
	}
	return nil, err
}

// connect tries each address once and returns the first authenticated
// session. refusals counts consecutive closes before the auth reply.
func (c *Client) connect(refusals *int) (*session, error) {
	addrs, err := c.addrs()
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, ErrNoAddress
	}
	token := c.o.Token
	if c.o.TokenFunc != nil {
		if token, err = c.o.TokenFunc(c.ctx); err != nil {
			return nil, fmt.Errorf("client: token: %w", err)
		}
	}
	var resume []byte
	if c.o.Recovery != nil {
		// Rooms the replay joins are not followed at auth: they are
		// resumed after their join.
		joined := c.replay.joined()
		resume = c.rec.request(c.o.Recovery, func(stream string) bool { return joined[stream] })
	}
	var errs []error
	for _, addr := range addrs {
		cn, err := c.dialAuth(addr, token, resume)
		if err == nil {
			return newSession(c, cn, addr), nil
		}
		errs = append(errs, err)
		if c.ctx.Err() != nil {
			return nil, ErrClosed
		}
		if errors.Is(err, errClosedBeforeAuth) && c.tokenRefused(addr) {
			*refusals++
			if *refusals >= c.o.AuthRefusedAfter {
				return nil, fmt.Errorf("%w: %d times in a row, last %s", ErrAuthRefused, *refusals, addr)
			}
		}
	}
	return nil, errors.Join(errs...)
}

// dialAuth dials addr and authenticates within DialTimeout. A resume
// body is sent as op 26 right before the auth frame, without waiting.
func (c *Client) dialAuth(addr string, token, resume []byte) (conn, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.o.DialTimeout)
	defer cancel()
	cn, err := dialConn(ctx, &c.o, addr)
	if err != nil {
		return nil, err
	}
	// Close (or the timeout) unblocks the auth read.
	unhook := context.AfterFunc(ctx, func() { _ = cn.close() })
	deadline, _ := ctx.Deadline()
	if resume != nil {
		err = cn.write(protocol.AppendFrame(nil, 1, protocol.OpResume, c.nextSeq(), resume), deadline)
	}
	seq := c.nextSeq()
	if err == nil {
		err = cn.write(protocol.AppendFrame(nil, 1, protocol.OpAuth, seq, token), deadline)
	}
	if err == nil {
		var f protocol.Frame
		f, err = cn.read(deadline)
		switch {
		case err != nil && ctx.Err() == nil && closedByPeer(err):
			err = fmt.Errorf("%w (%s): %w", errClosedBeforeAuth, addr, err)
		case err != nil:
			err = fmt.Errorf("client: %s: await auth reply: %w", addr, err)
		case f.Op != protocol.OpAuthReply || f.Seq != seq:
			err = fmt.Errorf("client: %s: auth answered op %d seq %d, want op %d seq %d", addr, f.Op, f.Seq, protocol.OpAuthReply, seq)
		}
	} else {
		err = fmt.Errorf("client: %s: send auth: %w", addr, err)
	}
	if !unhook() || err != nil {
		_ = cn.close()
		if err == nil {
			err = fmt.Errorf("client: %s: auth: %w", addr, ctx.Err())
		}
		return nil, err
	}
	return cn, nil
}
