package retry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
)

func TestHandle(t *testing.T) {
	errEdge := errors.New("edge down")
	cases := []struct {
		name        string
		startAt     int
		failures    int   // handler fails this many times first
		fail        error // with this error
		cancelFirst bool
		want        Outcome
		wantCalls   int
		wantAttempt int
	}{
		{"ok at once", 1, 0, nil, false, Acked, 1, 1},
		{"ok after two failures", 1, 2, errEdge, false, Acked, 3, 3},
		{"out of attempts", 1, 99, errEdge, false, Poison, 3, 3},
		{"poison at once", 1, 99, fmt.Errorf("bad: %w", queue.ErrPoison), false, Poison, 1, 1},
		{"redelivered, last attempt", 3, 99, errEdge, false, Poison, 1, 3},
		{"delivered too often already", 4, 0, nil, false, Poison, 0, 4},
		{"consumer stopping", 1, 0, nil, true, Aborted, 0, 1},
		{"panic is a failure", 1, 99, nil, false, Poison, 3, 3},
	}
	p := Policy{MaxAttempts: 3, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancelFirst {
				cancel()
			}
			calls := 0
			h := func(context.Context, *queue.Delivery) error {
				calls++
				if calls <= tc.failures {
					if tc.fail == nil {
						panic("handler bug")
					}
					return tc.fail
				}
				return nil
			}
			d := &queue.Delivery{ID: "1", Attempt: tc.startAt}
			out, err := Handle(ctx, "test", h, d, p, slog.Default())
			if out != tc.want || calls != tc.wantCalls || d.Attempt != tc.wantAttempt {
				t.Fatalf("outcome %v calls %d attempt %d (err %v), want %v %d %d", out, calls, d.Attempt, err, tc.want, tc.wantCalls, tc.wantAttempt)
			}
			if out == Poison && !errors.Is(err, queue.ErrPoison) {
				t.Fatalf("poison outcome without ErrPoison: %v", err)
			}
		})
	}
}

func TestBackoffDoublesToMax(t *testing.T) {
	b := Backoff{Min: time.Millisecond, Max: 3 * time.Millisecond}
	ctx := context.Background()
	for range 4 {
		if !b.Wait(ctx) {
			t.Fatal("Wait returned false with a live context")
		}
	}
	if b.cur != 3*time.Millisecond || !b.Failing() {
		t.Fatalf("cur = %v", b.cur)
	}
	b.Reset()
	if b.Failing() {
		t.Fatal("still failing after Reset")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if b.Wait(cctx) {
		t.Fatal("Wait returned true with a cancelled context")
	}
}
