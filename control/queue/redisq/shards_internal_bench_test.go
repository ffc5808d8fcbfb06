package redisq

import "testing"

// BenchmarkShardOf is the per-publish cost of picking a sharded stream.
func BenchmarkShardOf(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = shardOf("room://live/12345", 16)
	}
}
