package job

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/registry/static"
)

// One slow, never failing edge holds every room message it is part of
// for longer than claim_min_idle. Two jobs share the Redis stream: the
// messages the first holds must not be claimed and delivered again by the
// second (job keeps their pending entries fresh while it works on them).
// Both edges get every message exactly once.
func TestSlowEdgeMessagesNotReclaimed(t *testing.T) {
	rds := testenv.Redis(t)
	fast, slow := startRecEdge(t, "edge-fast"), startRecEdge(t, "edge-slow")
	slow.delay.Store(int64(100 * time.Millisecond))
	reg := static.New(fast.instance(), slow.instance())

	qcfg := redisq.DefaultConfig()
	qcfg.Addr = rds.Addr
	qcfg.Stream = "slow-edge"
	qcfg.Block = 100 * time.Millisecond
	qcfg.ClaimMinIdle = 1500 * time.Millisecond
	qcfg.ClaimInterval = 100 * time.Millisecond
	qcfg.Workers = 4
	producer := redisq.NewProducer(qcfg)
	defer producer.Close()

	cfg := testConfig()
	cfg.SlowCall = 0 // slow but under any breaker: the case where job waits
	cfg.RPCTimeout = 5 * time.Second
	for _, name := range []string{"job-a", "job-b"} {
		c := qcfg
		c.Consumer = name
		consumer := redisq.NewConsumer(c)
		j, err := New(cfg, consumer, reg)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- j.Run(context.Background()) }()
		t.Cleanup(func() {
			j.Close()
			if err := <-errc; err != nil {
				t.Errorf("%s: %v", name, err)
			}
			consumer.Close()
		})
	}

	// 40 messages of one room: each job handles its share one at a time,
	// so the last of them wait several claim_min_idle in the job.
	const n = 40
	redelivered := value(queue.RedeliveredTotal.WithLabelValues(queue.KindRedis))
	okBefore := counter("room", resultOK)
	var sent []string
	for i := range n {
		m := roomMsg(fmt.Sprintf("r%d", i), "live://slow")
		m.EnqueuedUnixNano = time.Now().UnixNano()
		sent = append(sent, m.Id)
		if err := producer.Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []*recEdge{fast, slow} {
		e.waitFor("every room message", func() bool { return len(e.roomMsgIDs()) >= n })
	}
	eventually(t, "every message acknowledged", func() bool { return counter("room", resultOK)-okBefore >= n })
	for _, e := range []*recEdge{fast, slow} {
		tl := count(sent, e.roomMsgIDs())
		t.Logf("%s: %v", e.node, tl)
		if tl.lost != 0 || tl.duplicated != 0 {
			t.Errorf("%s: %v", e.node, tl)
		}
	}
	if r := value(queue.RedeliveredTotal.WithLabelValues(queue.KindRedis)) - redelivered; r != 0 {
		t.Errorf("%v messages redelivered (claimed from a live job)", r)
	}
}
