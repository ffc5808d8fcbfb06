package main

import (
	"io"
	"sync"
)

// syncWriter serialises writes: the progress line, the outcome lines and
// the worker processes' stderr copies all go to the same stream.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
