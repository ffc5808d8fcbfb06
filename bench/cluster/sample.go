package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/goim-edge/goim-edge/bench/procstat"
	"github.com/goim-edge/goim-edge/bench/report"
)

// etcdWatchers is etcd's gauge of the watchers it serves.
const etcdWatchers = "etcd_debugging_mvcc_watcher_total"

// Sample reads the whole cluster at one moment: every process's RSS and
// CPU time (/proc), the Go heap of logic, jobs and edges (their /metrics),
// Redis's INFO memory and stats and DBSIZE, etcd's database size, key
// count and watchers. All readings run concurrently. kfake runs inside
// the caller and is not sampled. A reading that fails (a node that died)
// leaves its fields zero and is named in the joined error; the rest of
// the sample is still returned. Not safe to call concurrently with Close.
// It implements bench/scenario.Meter.
func (c *Cluster) Sample(ctx context.Context) (report.Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out := report.Sample{Processes: make([]report.ProcessSample, len(c.Nodes))}
	errs := make([]error, len(c.Nodes)+2)
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.Processes[i], errs[i] = sampleProcess(ctx, n)
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		r, err := c.sampleRedis(ctx)
		out.Redis, errs[len(c.Nodes)] = r, err
	}()
	go func() {
		defer wg.Done()
		e, err := c.sampleEtcd(ctx)
		out.Etcd, errs[len(c.Nodes)+1] = e, err
	}()
	wg.Wait()
	return out, errors.Join(errs...)
}

// sampleProcess reads one process; a Go role's heap too.
func sampleProcess(ctx context.Context, n *Node) (report.ProcessSample, error) {
	s := report.ProcessSample{Role: n.Role, Name: n.Name, PID: n.PID}
	ps, err := procstat.Read(n.PID)
	if err != nil {
		return s, fmt.Errorf("cluster: sample %s: %w", describe(n), err)
	}
	s.RSS, s.PSS, s.CPUSeconds = ps.RSS, ps.PSS, ps.CPUSeconds
	if n.AdminURL == "" {
		return s, nil
	}
	m, err := procstat.Scrape(ctx, n.MetricsURL)
	if err != nil {
		return s, fmt.Errorf("cluster: sample %s heap: %w", n.Name, err)
	}
	if h, ok := m[procstat.HeapInuse]; ok {
		s.HeapInuse, s.HeapKnown = uint64(h), true
	}
	return s, nil
}

// clients connects to Redis and etcd once, for Sample.
func (c *Cluster) clients() {
	c.clientsOnce.Do(func() {
		c.rdb = redis.NewClient(&redis.Options{Addr: c.Redis, DialTimeout: 2 * time.Second, PoolSize: 2})
		c.etcdc, c.etcdErr = clientv3.New(clientv3.Config{Endpoints: []string{c.Etcd},
			DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	})
}

func (c *Cluster) sampleRedis(ctx context.Context) (*report.RedisSample, error) {
	c.clients()
	info, err := c.rdb.Info(ctx, "memory", "stats").Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: redis INFO: %w", err)
	}
	keys, err := c.rdb.DBSize(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: redis DBSIZE: %w", err)
	}
	f := parseInfo(info)
	return &report.RedisSample{UsedMemory: f["used_memory"], UsedMemoryRSS: f["used_memory_rss"],
		Commands: f["total_commands_processed"], Keys: uint64(keys)}, nil
}

// parseInfo reads the numeric fields of a Redis INFO reply.
func parseInfo(info string) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}

func (c *Cluster) sampleEtcd(ctx context.Context) (*report.EtcdSample, error) {
	c.clients()
	if c.etcdErr != nil {
		return nil, fmt.Errorf("cluster: etcd client: %w", c.etcdErr)
	}
	st, err := c.etcdc.Status(ctx, c.Etcd)
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd status: %w", err)
	}
	resp, err := c.etcdc.Get(ctx, "\x00", clientv3.WithFromKey(), clientv3.WithCountOnly())
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd key count: %w", err)
	}
	m, err := procstat.Scrape(ctx, "http://"+c.Etcd+"/metrics")
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd metrics: %w", err)
	}
	return &report.EtcdSample{DBSize: st.DbSize, DBSizeInUse: st.DbSizeInUse,
		Watchers: int64(m[etcdWatchers]), Keys: resp.Count}, nil
}
