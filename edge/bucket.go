package edge

import (
	"hash/maphash"
	"sync"
)

// bucket is one shard of the edge's state: the sessions whose key hashes
// here and the rooms whose id hashes here. Sharding keeps connects,
// disconnects and room lookups from contending on one lock.
type bucket struct {
	mu       sync.RWMutex
	sessions map[string]*session
	rooms    map[string]*room
}

func newBucket() *bucket {
	return &bucket{sessions: make(map[string]*session), rooms: make(map[string]*room)}
}

// put publishes s under key and returns the session it replaced, if any.
func (b *bucket) put(key string, s *session) *session {
	b.mu.Lock()
	old := b.sessions[key]
	b.sessions[key] = s
	b.mu.Unlock()
	if old == s {
		return nil
	}
	return old
}

// delIfSame removes key only if it still maps to s, so a replaced session
// cannot unpublish its successor. It reports whether it removed it.
func (b *bucket) delIfSame(key string, s *session) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sessions[key] != s {
		return false
	}
	delete(b.sessions, key)
	return true
}

func (b *bucket) get(key string) *session {
	b.mu.RLock()
	s := b.sessions[key]
	b.mu.RUnlock()
	return s
}

// snapshot appends the bucket's sessions to dst.
func (b *bucket) snapshot(dst []*session) []*session {
	b.mu.RLock()
	for _, s := range b.sessions {
		dst = append(dst, s)
	}
	b.mu.RUnlock()
	return dst
}

// room returns the live room id, creating it if create is set.
func (b *bucket) room(srv *Server, id string, create bool) *room {
	b.mu.RLock()
	r := b.rooms[id]
	b.mu.RUnlock()
	if r != nil || !create {
		return r
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r = b.rooms[id]; r == nil {
		r = newRoom(srv, b, id)
		b.rooms[id] = r
		roomsGauge.Inc()
	}
	return r
}

// dropRoom removes r once it is empty; a session joining meanwhile sees
// r.dead and looks the room up again.
func (b *bucket) dropRoom(r *room) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.members) != 0 || b.rooms[r.id] != r {
		return
	}
	delete(b.rooms, r.id)
	r.dead = true
	roomsGauge.Dec()
}

// roomCounts adds each room's member count to into.
func (b *bucket) roomCounts(into map[string]int32) {
	b.mu.RLock()
	rooms := make([]*room, 0, len(b.rooms))
	for _, r := range b.rooms {
		rooms = append(rooms, r)
	}
	b.mu.RUnlock()
	for _, r := range rooms {
		if n := r.count(); n > 0 {
			into[r.id] = int32(n)
		}
	}
}

// shards maps a string to one of n buckets.
type shards struct {
	seed    maphash.Seed
	buckets []*bucket
}

func newShards(n int) shards {
	s := shards{seed: maphash.MakeSeed(), buckets: make([]*bucket, n)}
	for i := range s.buckets {
		s.buckets[i] = newBucket()
	}
	return s
}

func (s shards) of(k string) *bucket {
	return s.buckets[maphash.String(s.seed, k)%uint64(len(s.buckets))]
}
