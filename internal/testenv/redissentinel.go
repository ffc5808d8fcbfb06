package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisSentinel is a real Sentinel setup: one master, one replica and
// three sentinels (quorum 2) watching them.
type RedisSentinel struct {
	// MasterName is the name the sentinels monitor the master under.
	MasterName string
	// Master and Replica are the data servers as started; after a
	// failover the replica is the master.
	Master, Replica *Server
	Sentinels       []*Server
}

// SentinelAddrs are the sentinels' host:port.
func (s *RedisSentinel) SentinelAddrs() []string {
	out := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		out[i] = n.Addr
	}
	return out
}

// NewRedisSentinel starts a master, a replica of it and three
// `redis-server --sentinel` processes monitoring it with quorum 2,
// down-after-milliseconds 1000 and failover-timeout 5000, and waits until
// the replica is in sync and every sentinel sees the replica and the
// other two sentinels (SENTINEL CKQUORUM). Everything stops at cleanup.
func NewRedisSentinel(tb testing.TB) *RedisSentinel {
	tb.Helper()
	rs := &RedisSentinel{MasterName: "goim-master"}
	rs.Master = RedisWith(tb, RedisOptions{})
	rs.Replica = RedisWith(tb, RedisOptions{Args: []string{"--replicaof", "127.0.0.1", portOf(rs.Master.Addr)}})
	waitFor(tb, 20*time.Second, "replica in sync", func() (bool, string) {
		info, err := redisCommand(rs.Replica.Addr, "INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up"), fmt.Sprint(info, err)
	})
	for i := 0; i < 3; i++ {
		port := FreePort(tb)
		s := &Server{
			Name: "redis-sentinel-" + strconv.Itoa(i),
			Addr: fmt.Sprintf("127.0.0.1:%d", port),
			Dir:  tb.TempDir(),
			bin:  lookBinary(tb, "redis-server"),
		}
		conf := filepath.Join(s.Dir, "sentinel.conf")
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %s 2\n"+
			"sentinel down-after-milliseconds %[3]s 1000\n"+
			"sentinel failover-timeout %[3]s 5000\n"+
			"sentinel parallel-syncs %[3]s 1\n", port, s.Dir, rs.MasterName, portOf(rs.Master.Addr))
		// The sentinel rewrites its config file as it learns the setup.
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			tb.Fatalf("testenv: write sentinel config: %v", err)
		}
		s.args = func() []string { return []string{conf, "--sentinel"} }
		s.ready = redisPing
		rs.Sentinels = append(rs.Sentinels, s.startOrFail(tb))
	}
	for _, s := range rs.Sentinels {
		waitFor(tb, 30*time.Second, "sentinel "+s.Addr+" sees the replica and quorum", func() (bool, string) {
			q, err := redisCommand(s.Addr, "SENTINEL", "CKQUORUM", rs.MasterName)
			if err != nil || !strings.Contains(q, "3 usable") {
				return false, fmt.Sprint(q, err)
			}
			reps, err := redisCommand(s.Addr, "SENTINEL", "REPLICAS", rs.MasterName)
			return err == nil && strings.Contains(reps, portOf(rs.Replica.Addr)), fmt.Sprint(reps, err)
		})
	}
	return rs
}

// MasterAddr asks the first sentinel that answers for the current master.
func (s *RedisSentinel) MasterAddr() (string, error) {
	var last error
	for _, n := range s.Sentinels {
		out, err := redisCommand(n.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.MasterName)
		if err == nil {
			host, port, _ := strings.Cut(out, "\n")
			return host + ":" + port, nil
		}
		last = err
	}
	return "", fmt.Errorf("testenv: no sentinel answered: %w", last)
}

func portOf(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}

// waitFor polls cond every 50 ms, failing tb with cond's last detail
// after timeout.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testenv: %s: not after %v: %s", what, timeout, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RejoinAsReplica restarts a data server that was stopped (the old master
// after a failover test killed it) and makes it a replica of the current
// master at once, instead of waiting for the sentinels to notice it and
// reconfigure it themselves.
func (s *RedisSentinel) RejoinAsReplica(srv *Server) error {
	master, err := s.MasterAddr()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	host, port, _ := strings.Cut(master, ":")
	if _, err := redisCommand(srv.Addr, "REPLICAOF", host, port); err != nil {
		return fmt.Errorf("testenv: %s REPLICAOF %s: %w", srv.Addr, master, err)
	}
	return nil
}
