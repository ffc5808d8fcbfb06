package job

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
	"github.com/goim-edge/goim-edge/kitex_gen/common"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

// handlerJob is a job whose handler the test calls directly, as several
// consumers (Redis and Kafka side by side) would, with edges set by hand.
func handlerJob(t testing.TB, cfg Config, edges ...*recEdge) *Job {
	t.Helper()
	j, err := New(cfg, memory.New(memory.Config{}), static.New())
	if err != nil {
		t.Fatal(err)
	}
	j.edges = newEdgeSet(context.Background(), cfg, slog.Default())
	var insts []registry.Instance
	for _, e := range edges {
		insts = append(insts, e.instance())
	}
	j.edges.update(insts)
	t.Cleanup(j.edges.close)
	return j
}

func handleAsync(j *Job, wg *sync.WaitGroup, t *testing.T, id string) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := j.handle(context.Background(), &queue.Delivery{Msg: roomMsg(id, "live://1"), ID: id, Attempt: 1}); err != nil {
			t.Errorf("handle %s: %v", id, err)
		}
	}()
}

func batches(e *recEdge) [][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out [][]string
	for _, r := range e.rooms {
		var ids []string
		for _, m := range r.Msgs {
			ids = append(ids, m.MsgId)
		}
		out = append(out, ids)
	}
	return out
}

// Room messages queued behind a busy RPC go out together, in order, in one
// PushRoom, without any wait (RoomCoalesceWindow 0).
func TestRoomMessagesQueuedBehindAreCoalesced(t *testing.T) {
	e := startRecEdge(t, "edge-a")
	cfg := testConfig()
	cfg.RPCTimeout = 5 * time.Second
	cfg.MaxInflightPerEdge = 1
	cfg.RoomBatchMax = 3
	j := handlerJob(t, cfg, e)
	lane := j.edges.node("edge-a").lanes[0]

	e.setHang()
	var wg sync.WaitGroup
	handleAsync(j, &wg, t, "m0")
	eventually(t, "m0 in flight", func() bool { return queuedLen(lane) == 0 })
	eventually(t, "m0 at the hung edge", func() bool { return e.entered.Load() == 1 })
	for i := 1; i <= 4; i++ {
		handleAsync(j, &wg, t, fmt.Sprintf("m%d", i))
		eventually(t, "queued", func() bool { return queuedLen(lane) == i })
	}
	e.unhang()
	wg.Wait()
	want := [][]string{{"m0"}, {"m1", "m2", "m3"}, {"m4"}}
	if got := batches(e); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("PushRoom batches = %v, want %v", got, want)
	}
}

// With a RoomCoalesceWindow, messages of one room arriving within it share a
// PushRoom; another room's message ends the batch and keeps its place.
func TestRoomCoalesceWindow(t *testing.T) {
	e := startRecEdge(t, "edge-a")
	cfg := testConfig()
	cfg.RPCTimeout = 5 * time.Second
	cfg.MaxInflightPerEdge = 1
	// A window no message misses on a loaded machine. Nothing waits it
	// out: a batch of two is full, and an open batch ends with the next
	// message of another target.
	cfg.RoomCoalesceWindow = time.Minute
	cfg.RoomBatchMax = 2
	j := handlerJob(t, cfg, e)
	lane := j.edges.node("edge-a").lanes[0]

	var wg sync.WaitGroup
	handleAsync(j, &wg, t, "w0")
	eventually(t, "w0 waiting in an open batch", func() bool { return slices.Equal(sendingIDs(lane), []string{"w0"}) && len(batches(e)) == 0 })
	handleAsync(j, &wg, t, "w1")
	wg.Wait()
	if got := batches(e); !slices.EqualFunc(got, [][]string{{"w0", "w1"}}, slices.Equal) {
		t.Errorf("PushRoom batches = %v, want [[w0 w1]]", got)
	}

	// Another room's message closes the open batch: w2 goes out at once
	// (within eventually's 10 s, not the minute of the window), and
	// other's batch opens behind it.
	handleAsync(j, &wg, t, "w2")
	eventually(t, "w2 waiting in an open batch", func() bool { return slices.Equal(sendingIDs(lane), []string{"w2"}) && len(batches(e)) == 1 })
	handle := func(m *common.PushMsg) {
		wg.Go(func() {
			if err := j.handle(context.Background(), &queue.Delivery{Msg: m, ID: m.Id, Attempt: 1}); err != nil {
				t.Errorf("handle %s: %v", m.Id, err)
			}
		})
	}
	handle(roomMsg("other", "live://2"))
	eventually(t, "w2 sent, other waiting in an open batch", func() bool {
		return len(batches(e)) == 2 && slices.Equal(sendingIDs(lane), []string{"other"})
	})
	// A keys message ends other's batch in turn.
	handle(keysMsg("k", "edge-a", "dev"))
	wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	var rooms []string
	for _, r := range e.rooms[1:] {
		rooms = append(rooms, r.Room)
	}
	if !slices.Equal(rooms, []string{"live://1", "live://2"}) {
		t.Errorf("rooms after the first batch = %v, want [live://1 live://2]", rooms)
	}
}

// sendingIDs are the message ids of l's batch in flight (or open,
// waiting for more of its room).
func sendingIDs(l *lane) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for _, t := range l.sending {
		ids = append(ids, t.msg.Id)
	}
	return ids
}

// queuedLen is how many tasks wait in l behind the batch in flight.
func queuedLen(l *lane) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue)
}
