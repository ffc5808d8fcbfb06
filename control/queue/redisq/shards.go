package redisq

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/goim-edge/goim-edge/control/queue"
)

// How the queue is spread over Shards streams.
//
// Shard 0 is the stream of an unsharded queue (cfg.Stream, "{stream}" in a
// cluster), so shards = 1 is exactly the historical layout and raising
// the count keeps reading what is queued there. Shard i > 0 is
// "<stream>:{<tag>}", the tag picked so the shard's slot is
//
//	slot(shard 0) + vdc3(i) × 16384   (mod 16384)
//
// vdc3 being the base-3 van der Corput sequence 0, 1/3, 2/3, 1/9, 4/9,
// 7/9, 2/9, ...: shards 0, 1 and 2 are a third of the slot range apart,
// so a cluster of three masters with an even split (redis-cli --cluster
// create) holds one each, and every further shard falls in the largest
// gap left, at a distinct slot (the first 729 points are at least 22
// slots apart). A shard's name depends on i alone, never on the count:
// shards 0..N-1 of a queue with N shards are the first N of any larger
// count. A shard's dead-letter stream is its name + ":dead", in the
// same slot (poison is moved in one MULTI).

// clusterSlots is the number of Redis Cluster hash slots.
const clusterSlots = 16384

// tagWindow is how many slots past its target a shard's tag may land.
const tagWindow = 16

// shardNames caches shardStreams by stream key and count: finding the
// tags of 256 shards takes a few hundred thousand CRC16s.
var shardNames sync.Map // shardKey → []string

type shardKey struct {
	stream string
	n      int
}

// shardStreams returns the stream names of shards 0..cfg.Shards-1
// (cfg.Stream already its stream key, see streamKey). The caller must not
// modify the slice.
func shardStreams(cfg Config) []string {
	n := min(max(cfg.Shards, 1), queue.MaxRedisShards)
	key := shardKey{cfg.Stream, n}
	if v, ok := shardNames.Load(key); ok {
		return v.([]string)
	}
	out := makeShardStreams(cfg.Stream, n)
	shardNames.Store(key, out)
	return out
}

// makeShardStreams names n shards of the stream with key stream.
func makeShardStreams(stream string, n int) []string {
	out := make([]string, n)
	out[0] = stream
	if n == 1 {
		return out
	}
	// The name without the tag streamKey adds in a cluster: the shard's
	// own tag must be the first one in its name.
	name := stream
	if len(name) > 2 && name[0] == '{' && name[len(name)-1] == '}' {
		name = name[1 : len(name)-1]
	}
	base := KeySlot(stream)
	for i := 1; i < n; i++ {
		out[i] = name + ":{" + shardTag(base, i) + "}"
	}
	return out
}

// ShardStreams returns the stream of each of cfg's shards, shard 0 first
// (the stream of an unsharded queue).
func ShardStreams(cfg Config) []string { return slices.Clone(shardStreams(withDefaults(cfg))) }

// DeadStreams returns the dead-letter stream of each of cfg's shards:
// shard i's poison goes to ShardStreams(cfg)[i] + ":dead".
func DeadStreams(cfg Config) []string {
	out := ShardStreams(cfg) // a copy
	for i := range out {
		out[i] += ":dead"
	}
	return out
}

// shardTag finds the first tag "<i>.<k>" (k = 0, 1, ...) whose slot is
// within tagWindow slots from shard i's target.
func shardTag(base, i int) string {
	target := (base + vdc3(i)*clusterSlots/vdc3Scale) % clusterSlots
	prefix := strconv.Itoa(i) + "."
	for k := 0; ; k++ {
		tag := prefix + strconv.Itoa(k)
		if (KeySlot(tag)-target+clusterSlots)%clusterSlots < tagWindow {
			return tag
		}
	}
}

// vdc3Scale is the denominator of vdc3 for shard indexes below 3^6 = 729
// (MaxRedisShards is 256).
const vdc3Scale = 729

// vdc3 is i's base-3 van der Corput point as a multiple of 1/vdc3Scale:
// i's six base-3 digits reversed.
func vdc3(i int) int {
	out := 0
	for range 6 {
		out = out*3 + i%3
		i /= 3
	}
	return out
}

// shardOf is the shard of target among n: the same target always goes to
// the same stream, which is what keeps per-target order.
func shardOf(target string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(target))
	return int(h.Sum32() % uint32(n))
}

// ShardOf is the shard (an index into ShardStreams) a message for
// target (queue.TargetKey) is published to when the queue has n shards.
func ShardOf(target string, n int) int { return shardOf(target, n) }

// KeySlot is Redis Cluster's hash slot of key: CRC16 (XMODEM) of its hash
// tag (the part between the first "{" and the next "}", when not empty)
// or of the whole key, modulo 16384.
func KeySlot(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16(key)) % clusterSlots
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial 0), Redis Cluster's.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
