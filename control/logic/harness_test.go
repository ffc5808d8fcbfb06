package logic

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
)

// harness is a Logic on a real store and a real memory queue, with a
// consumer that collects what was enqueued.
type harness struct {
	l   *Logic
	st  store.Store
	q   *memory.Queue
	got chan *common.PushMsg
	// discard drops consumed messages (benchmarks, which never take).
	discard atomic.Bool
}

func newHarness(t testing.TB, st store.Store, mod func(*Config), deps ...func(*Deps)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	qcfg := memory.DefaultConfig()
	qcfg.Workers = 1 // one lane: messages come out in publish order
	q := memory.New(qcfg)
	d := Deps{Store: st, Queue: q, Auth: logictest.Auth(t)}
	for _, f := range deps {
		f(&d)
	}
	l, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{l: l, st: st, q: q, got: make(chan *common.PushMsg, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = q.Run(ctx, func(_ context.Context, d *queue.Delivery) error {
			if !h.discard.Load() {
				h.got <- d.Msg
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		q.Close()
	})
	return h
}

// take returns every message enqueued so far, in order: it publishes a
// marker and collects up to it, so "nothing was enqueued" is checked
// without waiting for a timeout.
func (h *harness) take(t testing.TB) []*common.PushMsg {
	t.Helper()
	marker := &common.PushMsg{Id: "marker-" + time.Now().String(), Kind: common.PushKind_BROADCAST, Op: 1}
	if err := h.q.Publish(context.Background(), marker); err != nil {
		t.Fatal(err)
	}
	var out []*common.PushMsg
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-h.got:
			if m == marker {
				return out
			}
			out = append(out, m)
		case <-timeout:
			t.Fatalf("queue: marker not delivered; got %d messages", len(out))
		}
	}
}
