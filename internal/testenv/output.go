package testenv

import (
	"bytes"
	"sync"
)

// Output collects a child process's stdout and stderr, written by exec's
// copier goroutines, so a test can read it while the process still runs
// (to show it when something fails, or to look for a line).
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String is everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
