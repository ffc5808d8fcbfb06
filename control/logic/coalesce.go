package logic

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// resumeHold is the least time between the starts of two reads of one
// key (one stream and position): callers that arrive meanwhile share the
// next read. It bounds a reconnect storm to one store read per key per
// resumeHold (200 reads/s per room and position on one logic instance),
// whatever the callers' timing, at the cost of at most this much latency
// for a resume whose key was read less than resumeHold ago. A lone device
// is never held: nobody read its key just before it.
const resumeHold = 5 * time.Millisecond

// coalescer shares one read among identical concurrent calls (same key),
// so a reconnect storm of one room's devices costs a few store reads
// instead of one per device.
//
// Plain singleflight would let a caller join a read that began before it
// arrived, and that can break recovery's no-gap promise: the edge marks a
// connection positioned (reachable for live pushes) before it calls
// Resume, so a message appended after the shared read's snapshot but
// delivered to the edge before this connection was positioned would be
// neither recovered nor live. So a caller only joins a read that has not
// begun yet: each key has a generation, callers join the read of the
// current generation, and a read moves the generation on before it
// reads. A read also waits for the previous read of its key to end and
// for hold after it began: that is what gathers the callers arriving
// meanwhile into one next read, so reads of one key begin at least hold
// apart. Reading later than a caller arrived is always safe; earlier
// never happens.
type coalescer[T any] struct {
	group singleflight.Group
	hold  time.Duration

	mu   sync.Mutex
	keys map[string]*flight
	next uint64 // generations are never reused, even after a key's state goes
}

// flight is a key's state while callers use it.
type flight struct {
	gen     uint64        // callers arriving now join this generation's read
	running chan struct{} // closed when the read that began last ends; nil: none
	started time.Time     // when the last read began
	users   int           // callers holding the state
}

// do returns read's result, shared with the callers of the same key that
// arrived before the read began; the result must not be modified. A
// caller whose ctx ends stops waiting; the read goes on for the others.
func (c *coalescer[T]) do(ctx context.Context, key string, read func() (T, error)) (T, error) {
	c.mu.Lock()
	if c.keys == nil {
		c.keys = map[string]*flight{}
	}
	f := c.keys[key]
	if f == nil {
		f = &flight{gen: c.nextGen()}
		c.keys[key] = f
	}
	f.users++
	gkey := key + "\x00" + strconv.FormatUint(f.gen, 10)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		f.users--
		c.release(key, f)
		c.mu.Unlock()
	}()
	ch := c.group.DoChan(gkey, func() (any, error) {
		done := make(chan struct{})
		c.mu.Lock()
		for {
			// Wait until no read of the key runs and the last began hold
			// ago; several flights may wait at once, one goes at a time.
			prev, started := f.running, f.started
			if prev == nil && (started.IsZero() || time.Since(started) >= c.hold) {
				break
			}
			c.mu.Unlock()
			if prev != nil {
				<-prev // bounded: that read has its call timeout
			} else {
				t := time.NewTimer(c.hold - time.Since(started))
				<-t.C
			}
			c.mu.Lock()
		}
		f.gen = c.nextGen() // callers from now on wait for the next read
		f.running, f.started = done, time.Now()
		c.mu.Unlock()
		v, err := read()
		c.mu.Lock()
		close(done)
		if f.running == done {
			f.running = nil
		}
		c.mu.Unlock()
		return v, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			var zero T
			return zero, res.Err
		}
		return res.Val.(T), nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// release drops key's state once nobody holds it, no read runs and the
// last read began hold ago (so the hold also spaces the reads of callers
// that arrive just after the last ones left); until then a timer checks
// again. c.mu is held.
func (c *coalescer[T]) release(key string, f *flight) {
	if f.users > 0 || c.keys[key] != f {
		return
	}
	if f.running == nil && time.Since(f.started) >= c.hold {
		delete(c.keys, key)
		return
	}
	time.AfterFunc(max(c.hold-time.Since(f.started), time.Millisecond), func() {
		c.mu.Lock()
		c.release(key, f)
		c.mu.Unlock()
	})
}

// nextGen hands out a generation; c.mu is held.
func (c *coalescer[T]) nextGen() uint64 {
	c.next++
	return c.next
}

// users is how many callers hold key's state (tests wait on it).
func (c *coalescer[T]) users(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.keys[key]; f != nil {
		return f.users
	}
	return 0
}
