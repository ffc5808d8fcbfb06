package edge

import (
	"testing"
	"unsafe"
)

// TestSessionFitsItsSizeClass guards the per-connection budget: an edge
// holds a session per idle device, and 192 bytes is a Go size class, so
// one more field costs 16–64 bytes on every connection (measure with
// BenchmarkIdleTCPConn before raising it).
func TestSessionFitsItsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n > 192 {
		t.Fatalf("session is %d bytes, over its 192-byte budget", n)
	}
}
