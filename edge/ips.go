package edge

import (
	"hash/maphash"
	"sync"
)

// ipCounter counts connections per client IP, sharded like the buckets,
// for the distinct-IP figure goim reports (ip_count).
type ipCounter struct {
	seed   maphash.Seed
	shards []ipShard
}

type ipShard struct {
	mu sync.Mutex
	m  map[string]int32
}

func newIPCounter(n int) *ipCounter {
	c := &ipCounter{seed: maphash.MakeSeed(), shards: make([]ipShard, n)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]int32)
	}
	return c
}

func (c *ipCounter) shard(ip string) *ipShard {
	return &c.shards[maphash.String(c.seed, ip)%uint64(len(c.shards))]
}

func (c *ipCounter) add(ip string) {
	sh := c.shard(ip)
	sh.mu.Lock()
	sh.m[ip]++
	sh.mu.Unlock()
}

// addBelow counts one more connection from ip unless it has max already.
func (c *ipCounter) addBelow(ip string, max int32) bool {
	sh := c.shard(ip)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m[ip] >= max {
		return false
	}
	sh.m[ip]++
	return true
}

// count is how many connections ip has now.
func (c *ipCounter) count(ip string) int32 {
	sh := c.shard(ip)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[ip]
}

func (c *ipCounter) remove(ip string) {
	sh := c.shard(ip)
	sh.mu.Lock()
	if sh.m[ip] <= 1 {
		delete(sh.m, ip)
	} else {
		sh.m[ip]--
	}
	sh.mu.Unlock()
}

func (c *ipCounter) distinct() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
