package app

import (
	"errors"
	"fmt"
)

// cleanup is what a start function has built so far, kept so that a
// later step that fails can undo it: each thing opened is pushed with
// its closer, and on an error the stack unwinds newest first, so nothing
// is closed under what was built on top of it. A start that succeeds
// releases the stack: the started node owns it all, and its stop closes
// things in the shutdown order the role needs, which is not always the
// reverse of the start.
//
// The usual shape, with a named error result:
//
//	var undo cleanup
//	defer undo.onError(&err)
//	... open x; undo.push("x close", x.Close) ...
//	undo.release()
//	return n, nil
type cleanup struct {
	steps []cleanupStep
}

type cleanupStep struct {
	name string
	fn   func() error
}

// push adds a step to undo; name says what it undoes in the error of a
// step that fails.
func (c *cleanup) push(name string, fn func() error) {
	c.steps = append(c.steps, cleanupStep{name: name, fn: fn})
}

// unwind runs every step, newest first, going on after one that fails
// (everything still gets closed), and returns the failures joined, each
// named by its step. The stack is empty afterwards, so a second unwind
// does nothing.
func (c *cleanup) unwind() error {
	var errs []error
	for i := len(c.steps) - 1; i >= 0; i-- {
		s := c.steps[i]
		if err := s.fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	c.steps = nil
	return errors.Join(errs...)
}

// release hands everything pushed to the caller: nothing is undone any
// more.
func (c *cleanup) release() { c.steps = nil }

// onError unwinds when the function it is deferred in returns an error,
// and joins what the unwinding reports to that error (the start's own
// error comes first: it is the cause). After release it does nothing.
func (c *cleanup) onError(errp *error) {
	if *errp == nil {
		return
	}
	if err := c.unwind(); err != nil {
		*errp = errors.Join(*errp, err)
	}
}
