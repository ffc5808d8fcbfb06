package app

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestCleanupUnwindsNewestFirst: every step runs, in reverse push order,
// also after one fails, and the failures come back joined and named.
func TestCleanupUnwindsNewestFirst(t *testing.T) {
	var ran []string
	errB, errD := errors.New("b broke"), errors.New("d broke")
	step := func(name string, err error) func() error {
		return func() error { ran = append(ran, name); return err }
	}
	var c cleanup
	c.push("a", step("a", nil))
	c.push("b", step("b", errB))
	c.push("c", step("c", nil))
	c.push("d", step("d", errD))

	err := c.unwind()
	if want := []string{"d", "c", "b", "a"}; !reflect.DeepEqual(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
	if !errors.Is(err, errB) || !errors.Is(err, errD) {
		t.Fatalf("unwind error %v, want both step errors", err)
	}
	if got, want := err.Error(), "d: d broke\nb: b broke"; got != want {
		t.Fatalf("unwind error %q, want %q", got, want)
	}
	// The stack is spent: nothing runs twice.
	ran = nil
	if err := c.unwind(); err != nil || ran != nil {
		t.Fatalf("second unwind ran %v, err %v", ran, err)
	}
}

// TestCleanupRelease: a released stack undoes nothing, and steps pushed
// after the release are undone on their own.
func TestCleanupRelease(t *testing.T) {
	var ran []string
	var c cleanup
	c.push("a", func() error { ran = append(ran, "a"); return nil })
	c.release()
	if err := c.unwind(); err != nil || ran != nil {
		t.Fatalf("unwind after release ran %v, err %v", ran, err)
	}
	c.push("b", func() error { ran = append(ran, "b"); return nil })
	if err := c.unwind(); err != nil || !reflect.DeepEqual(ran, []string{"b"}) {
		t.Fatalf("ran %v, err %v; want [b]", ran, err)
	}
}

// TestCleanupOnError: deferred with a named error, it unwinds only when
// the function fails, keeps the function's error first and untouched when
// the unwinding is clean, and does nothing after release.
func TestCleanupOnError(t *testing.T) {
	cause := errors.New("start failed")
	closeErr := errors.New("close failed")
	var ran bool
	body := func(fail, released bool, closeWith error) (err error) {
		ran = false
		var c cleanup
		defer c.onError(&err)
		c.push("x close", func() error { ran = true; return closeWith })
		if released {
			c.release()
		}
		if fail {
			return cause
		}
		return nil
	}

	if err := body(false, false, nil); err != nil || ran {
		t.Fatalf("success: err %v, unwound %v", err, ran)
	}
	if err := body(true, false, nil); err != cause || !ran {
		t.Fatalf("failure, clean unwind: err %v (want the cause itself), unwound %v", err, ran)
	}
	err := body(true, false, closeErr)
	if !ran || !errors.Is(err, cause) || !errors.Is(err, closeErr) || !strings.HasPrefix(err.Error(), "start failed\nx close: close failed") {
		t.Fatalf("failure, failed unwind: err %q, unwound %v", err, ran)
	}
	if err := body(true, true, closeErr); err != cause || ran {
		t.Fatalf("failure after release: err %v, unwound %v", err, ran)
	}
}
