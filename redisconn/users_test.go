package redisconn_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/control/logic/history/redisstream"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/redisconn"
)

// storeConfig and queueConfig put conn into the users' configs with
// timeouts short enough that a refused connection fails the test fast.
func storeConfig(conn redisconn.Config) redisstore.Config {
	c := redisstore.DefaultConfig()
	c.Config = conn
	return c
}

func queueConfig(conn redisconn.Config, stream string) redisq.Config {
	c := redisq.DefaultConfig()
	c.Config = conn
	c.Stream = stream
	c.Block = 100 * time.Millisecond
	c.DialTimeout = time.Second
	c.Timeout = time.Second
	return c
}

// useAll writes and reads through all three Redis users of goim-edge —
// the route store, the queue (publish, and when deliver is set, consume)
// and history — and returns the first error, naming the user.
func useAll(t *testing.T, conn redisconn.Config, deliver bool) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	st, err := redisstore.New(storeConfig(conn))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer st.Close()
	if err := st.AddRoute(ctx, store.Route{Mid: 7, Key: "k7", Server: "edge-1"}, time.Minute); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if got, err := st.ServersByKeys(ctx, []string{"k7"}); err != nil || got["k7"] != "edge-1" {
		return fmt.Errorf("store: ServersByKeys = %v, %v", got, err)
	}

	hs, err := redisstream.New(storeConfig(conn), nil)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer hs.Close()
	pos, err := hs.Append(ctx, []history.Target{{Stream: "user:7", Limits: history.Limits{Size: 10, TTL: time.Hour}}}, history.Message{ID: "m1", Op: 1000, Body: []byte("hi")})
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	r, err := hs.Since(ctx, "user:7", pos[0].Epoch, pos[0].Offset-1, 10)
	if err != nil || len(r.Messages) != 1 || r.Messages[0].ID != "m1" {
		return fmt.Errorf("history: Since = %+v, %v", r, err)
	}

	qcfg := queueConfig(conn, "q-"+t.Name())
	var rec queuetest.Recorder
	if deliver {
		cons := redisq.NewConsumer(qcfg)
		defer cons.Close()
		queuetest.Start(t, cons, rec.Handle)
	}
	p := redisq.NewProducer(qcfg)
	defer p.Close()
	if err := p.Publish(ctx, queuetest.Msg("k7", 1)); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	if deliver {
		queuetest.WaitFor(t, 10*time.Second, "the published message", func() bool { return rec.Distinct() == 1 })
	}
	return nil
}
