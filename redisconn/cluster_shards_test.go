package redisconn_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/control/queue/redisq"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/redisconn"
)

// slotOwner is who serves a slot: the master and its replicas.
type slotOwner struct {
	master   string
	replicas []string
}

// slotOwners asks any answering node for the slot map (CLUSTER SHARDS):
// a slot's master, and its replicas that are online.
func slotOwners(t testing.TB, addrs []string) (func(slot int) slotOwner, error) {
	t.Helper()
	var lastErr error
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		shards, err := c.ClusterShards(ctx).Result()
		cancel()
		_ = c.Close()
		if err != nil {
			lastErr = err
			continue
		}
		return func(slot int) slotOwner {
			for _, sh := range shards {
				for _, r := range sh.Slots {
					if int64(slot) < r.Start || int64(slot) > r.End {
						continue
					}
					var o slotOwner
					for _, n := range sh.Nodes {
						addr := net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
						switch {
						case n.Role == "master" && n.Health != "failed":
							o.master = addr
						case n.Role == "replica" && n.Health == "online":
							o.replicas = append(o.replicas, addr)
						}
					}
					return o
				}
			}
			return slotOwner{}
		}, nil
	}
	return nil, fmt.Errorf("no node answered CLUSTER SHARDS: %w", lastErr)
}

// TestClusterShardSlots: on a real six-node cluster (three masters), the
// shard streams' slots are the ones CLUSTER KEYSLOT computes, each
// dead-letter stream shares its shard's slot, and three or more shards
// land on all three masters; publishing through four shards creates a
// stream on every master.
func TestClusterShardSlots(t *testing.T) {
	cl := testenv.NewRedisCluster(t)
	conn := redisconn.Config{Addrs: cl.Addrs()[:1]}
	node := redis.NewClient(&redis.Options{Addr: cl.Addrs()[0]})
	t.Cleanup(func() { _ = node.Close() })
	ctx := context.Background()
	owners, err := slotOwners(t, cl.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		shards, masters int
	}{{1, 1}, {2, 2}, {3, 3}, {4, 3}, {16, 3}, {256, 3}} {
		t.Run(strconv.Itoa(tc.shards), func(t *testing.T) {
			cfg := queueConfig(conn, "goim-push")
			cfg.Shards = tc.shards
			masters := map[string]int{}
			dead := redisq.DeadStreams(cfg)
			for i, s := range redisq.ShardStreams(cfg) {
				want := redisq.KeySlot(s)
				got, err := node.ClusterKeySlot(ctx, s).Result()
				if err != nil {
					t.Fatal(err)
				}
				gotDead, err := node.ClusterKeySlot(ctx, dead[i]).Result()
				if err != nil {
					t.Fatal(err)
				}
				if int(got) != want || int(gotDead) != want {
					t.Fatalf("shard %d %s: CLUSTER KEYSLOT %d (dead-letter stream %d), KeySlot %d", i, s, got, gotDead, want)
				}
				masters[owners(want).master]++
			}
			if len(masters) != tc.masters {
				t.Fatalf("%d shards on masters %v, want %d masters", tc.shards, masters, tc.masters)
			}
			t.Logf("%d shards: streams per master %v", tc.shards, masters)
		})
	}

	t.Run("published", func(t *testing.T) {
		cfg := queueConfig(conn, "spread")
		cfg.Shards = 4
		p := redisq.NewProducer(cfg)
		t.Cleanup(func() { _ = p.Close() })
		for k := range 64 {
			if err := p.Publish(ctx, queuetest.Msg("live://"+strconv.Itoa(k), 0)); err != nil {
				t.Fatal(err)
			}
		}
		perMaster := map[string]int64{}
		for _, s := range redisq.ShardStreams(cfg) {
			o := owners(redisq.KeySlot(s))
			c := redis.NewClient(&redis.Options{Addr: o.master})
			n, err := c.XLen(ctx, s).Result()
			_ = c.Close()
			if err != nil || n == 0 {
				t.Fatalf("shard %s on its master %s: XLEN %d, %v", s, o.master, n, err)
			}
			perMaster[o.master] += n
		}
		if len(perMaster) != 3 {
			t.Fatalf("messages per master %v, want all three masters", perMaster)
		}
		t.Logf("64 messages over 4 shards: per master %v", perMaster)
	})
}

// TestClusterFailover publishes continuously through a four-shard queue
// with wait_replicas = 1 while the master holding the route store's slot
// (and at least one shard: four shards cover every master) fails over,
// either cleanly (CLUSTER FAILOVER on its replica) or by SIGKILL (the
// cluster promotes the replica after cluster-node-timeout; the old master
// is restarted and rejoins as a replica). Every publish that returned nil
// must be delivered; duplicates are allowed (at least once) and counted;
// publishes that failed are allowed. Routes written (and replicated)
// before the failover must be readable after it.
func TestClusterFailover(t *testing.T) {
	for _, tc := range []struct {
		name string
		kill bool
	}{
		{"cluster failover", false},
		{"master killed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := testenv.NewRedisCluster(t)
			conn := redisconn.Config{Addrs: cl.Addrs()}
			ctx := context.Background()

			scfg := storeConfig(conn)
			st, err := redisstore.New(scfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			var owners func(int) slotOwner
			storeSlot := redisq.KeySlot("{" + scfg.Prefix + "}")
			// Replicas attach just after the cluster reports ok.
			waitUntil(t, 30*time.Second, "the store's master to have a replica", func() bool {
				owners, err = slotOwners(t, cl.Addrs())
				return err == nil && len(owners(storeSlot).replicas) > 0
			})
			victim := owners(storeSlot)
			replica := victim.replicas[0]

			qcfg := queueConfig(conn, "failover")
			qcfg.Shards = 4
			qcfg.WaitReplicas = 1
			qcfg.ClaimMinIdle = time.Second
			qcfg.ClaimInterval = 200 * time.Millisecond
			qcfg.Consumer = "job-1"
			onVictim := 0
			for _, s := range redisq.ShardStreams(qcfg) {
				if owners(redisq.KeySlot(s)).master == victim.master {
					onVictim++
				}
			}
			if onVictim == 0 {
				t.Fatalf("no shard on the master %s to fail over", victim.master)
			}

			// Routes written before the failover, and replicated.
			var before []string
			for i := range 100 {
				key := "before-" + strconv.Itoa(i)
				if err := st.AddRoute(ctx, store.Route{Mid: int64(i), Key: key, Server: "edge-1"}, time.Hour); err != nil {
					t.Fatal(err)
				}
				before = append(before, key)
			}
			waitReplicated(t, victim.master, replica)

			var rec queuetest.Recorder
			cons := redisq.NewConsumer(qcfg)
			t.Cleanup(func() { _ = cons.Close() })
			queuetest.Start(t, cons, rec.Handle)
			prod := redisq.NewProducer(qcfg)
			t.Cleanup(func() { _ = prod.Close() })

			var (
				mu                 sync.Mutex
				accepted           []string
				sent, pubErrs      atomic.Int64
				acceptedAfter      atomic.Int64
				failed             atomic.Bool
				firstErr, lastErr  time.Time
				acceptedPerShard   = map[int]int{}
				acceptedOnVictimAf atomic.Int64
			)
			streams := redisq.ShardStreams(qcfg)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					msg := queuetest.Msg("live://"+strconv.Itoa(i%16), i)
					sent.Add(1)
					err := prod.Publish(cctx, msg)
					cancel()
					shard := redisq.ShardOf(queue.TargetKey(msg), len(streams))
					mu.Lock()
					if err != nil {
						pubErrs.Add(1)
						if failed.Load() {
							if firstErr.IsZero() {
								firstErr = time.Now()
							}
							lastErr = time.Now()
						}
					} else {
						accepted = append(accepted, msg.Id)
						acceptedPerShard[shard]++
						if failed.Load() {
							acceptedAfter.Add(1)
							if owners(redisq.KeySlot(streams[shard])).master == victim.master {
								acceptedOnVictimAf.Add(1)
							}
						}
					}
					mu.Unlock()
					time.Sleep(2 * time.Millisecond) // pacing, not a timing assumption
				}
			}()
			waitUntil(t, 30*time.Second, "200 accepted publishes", func() bool { mu.Lock(); defer mu.Unlock(); return len(accepted) >= 200 })

			failAt := time.Now()
			failed.Store(true)
			var oldMaster *testenv.Server
			if tc.kill {
				for _, n := range cl.Nodes {
					if n.Addr == victim.master {
						oldMaster = n
					}
				}
				oldMaster.Kill()
			} else {
				r := redis.NewClient(&redis.Options{Addr: replica})
				err := r.Do(ctx, "CLUSTER", "FAILOVER").Err()
				_ = r.Close()
				if err != nil {
					t.Fatalf("CLUSTER FAILOVER on %s: %v", replica, err)
				}
			}
			live := []string{}
			for _, a := range cl.Addrs() {
				if a != victim.master || !tc.kill {
					live = append(live, a)
				}
			}
			waitUntil(t, 60*time.Second, "the replica to serve the store's slot", func() bool {
				o, err := slotOwners(t, live)
				return err == nil && o(storeSlot).master == replica
			})
			promoted := time.Since(failAt)
			if tc.kill {
				// It comes back empty, finds its nodes.conf and joins as a
				// replica of the promoted node, so wait_replicas can be met
				// again for the shards it held.
				if err := oldMaster.Start(); err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, 90*time.Second, "200 accepted publishes after the failover on the failed-over master's shards", func() bool {
				return acceptedOnVictimAf.Load() >= 200
			})
			close(stop)
			<-done

			mu.Lock()
			defer mu.Unlock()
			deliveredAll := func() bool {
				for _, id := range accepted {
					if rec.Times(id) == 0 {
						return false
					}
				}
				return true
			}
			deadline := time.Now().Add(30 * time.Second)
			for !deliveredAll() && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			lost, dup := 0, 0
			for _, id := range accepted {
				switch n := rec.Times(id); {
				case n == 0:
					lost++
				case n > 1:
					dup++
				}
			}
			got, err := st.ServersByKeys(ctx, before)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("cluster %s: sent %d, accepted %d (per shard %v), publish errors %d, delivered %d distinct (%d deliveries, %d accepted delivered more than once), lost %d; "+
				"promoted after %v, publish errors from first to last %v; routes written before %d, readable after %d",
				tc.name, sent.Load(), len(accepted), acceptedPerShard, pubErrs.Load(), rec.Distinct(), len(rec.All()), dup, lost,
				promoted.Round(time.Millisecond), lastErr.Sub(firstErr).Round(time.Millisecond), len(before), len(got))
			if lost > 0 {
				t.Errorf("%d of %d accepted publishes were never delivered", lost, len(accepted))
			}
			if len(got) != len(before) {
				t.Errorf("%d of %d routes written and replicated before the failover are gone", len(before)-len(got), len(before))
			}
		})
	}
}

// waitReplicated waits until replica's replication offset reached what
// master had written when it was asked.
func waitReplicated(t *testing.T, master, replica string) {
	t.Helper()
	offset := func(addr, field string) int64 {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		info, err := c.Info(context.Background(), "replication").Result()
		if err != nil {
			return -1
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		return -1
	}
	want := offset(master, "master_repl_offset")
	if want < 0 {
		t.Fatalf("no replication offset from %s", master)
	}
	waitUntil(t, 30*time.Second, "the replica to hold the routes", func() bool {
		return offset(replica, "slave_repl_offset") >= want
	})
}
