package edge

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recTransport records what a session writes; block, when set, holds
// writes until closed (a device that stopped reading).
type recTransport struct {
	mu     sync.Mutex
	msgs   [][]byte
	closed bool
	block  chan struct{}
}

func (t *recTransport) kind() string       { return "ws" }
func (t *recTransport) remoteAddr() string { return "127.0.0.1:1" }

func (t *recTransport) write(msgs [][]byte) error {
	if t.block != nil {
		<-t.block
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("closed")
	}
	t.msgs = append(t.msgs, msgs...)
	return nil
}

func (t *recTransport) close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return nil
}

func (t *recTransport) written() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([][]byte(nil), t.msgs...)
}

func (t *recTransport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// newUnitServer is a Server for tests of its internals (rooms, buckets,
// queues, wheel), which never call logic.
func newUnitServer(t testing.TB, mod func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Node = "unit"
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &Server{
		cfg:      cfg,
		log:      slog.Default(),
		shards:   newShards(cfg.Buckets),
		ips:      newIPCounter(cfg.Buckets),
		admit:    newAdmission(cfg),
		upSlots:  make(chan struct{}, cfg.UpstreamParallel),
		wheel:    newWheel(cfg.TimerTick),
		stop:     make(chan struct{}),
		logicSem: make(chan struct{}, logicParallel),
	}
}

// publishedSession is a session reachable by key, as after auth, but not
// marked authenticated: closing it then needs no logic (unit tests of
// internals have none).
func publishedSession(srv *Server, key string, tr transport, accepts ...int32) *session {
	s := newSession(srv, tr)
	s.key, s.mid = key, 1
	s.setHeartbeat(time.Minute)
	s.accepts = newAcceptSet(accepts)
	srv.bucketFor(key).put(key, s)
	return s
}

// eventually polls cond until it holds or the test times out.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countTransport counts writes and keeps nothing (benchmarks).
type countTransport struct{ n atomic.Int64 }

func (t *countTransport) kind() string       { return "tcp" }
func (t *countTransport) remoteAddr() string { return "127.0.0.1:1" }
func (t *countTransport) close() error       { return nil }
func (t *countTransport) write(msgs [][]byte) error {
	t.n.Add(int64(len(msgs)))
	return nil
}

// counterValue reads a counter's current value.
func counterValue(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
