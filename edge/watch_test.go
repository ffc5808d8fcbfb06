package edge

import (
	"context"
	"testing"
)

// inputTransport is a recTransport that reports unprocessed input.
type inputTransport struct {
	recTransport
	n int
}

func (t *inputTransport) inputLen() int { return t.n }

// BenchmarkWatchInput is the input watch every upstream message starts
// and stops around its call to logic (the usual case: logic answers
// before the first check).
func BenchmarkWatchInput(b *testing.B) {
	srv := newUnitServer(b, nil)
	s := &session{srv: srv, t: &inputTransport{}}
	_, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		stop := s.watchInput(cancel)
		stop()
	}
}
