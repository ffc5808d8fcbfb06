package auth

import (
	"container/list"
	"sync"
	"time"
)

// ttlCache is a small LRU whose entries also expire; it holds at most size
// entries, evicting the least recently used.
type ttlCache[K comparable, V any] struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu    sync.Mutex
	order *list.List // front = most recently used; values are *cacheEntry
	items map[K]*list.Element
}

type cacheEntry[K comparable, V any] struct {
	key     K
	val     V
	expires time.Time
}

func newTTLCache[K comparable, V any](size int, ttl time.Duration) *ttlCache[K, V] {
	return &ttlCache[K, V]{size: size, ttl: ttl, now: time.Now, order: list.New(), items: make(map[K]*list.Element, size)}
}

// Get returns a live entry and marks it used.
func (c *ttlCache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*cacheEntry[K, V])
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, k)
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// Put stores v for ttl, evicting the least recently used entry when full.
func (c *ttlCache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := c.now().Add(c.ttl)
	if el, ok := c.items[k]; ok {
		e := el.Value.(*cacheEntry[K, V])
		e.val, e.expires = v, expires
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry[K, V]).key)
	}
	c.items[k] = c.order.PushFront(&cacheEntry[K, V]{key: k, val: v, expires: expires})
}

// Len is the number of entries held, live or not yet evicted.
func (c *ttlCache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
