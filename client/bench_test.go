package client

import (
	"testing"

	"github.com/goim-edge/goim-edge/protocol"
)

// BenchmarkHandleBatch is the receive hot path: a room batch of 16
// pushes split, copied and queued for the callbacks.
func BenchmarkHandleBatch(b *testing.B) {
	batch := protocol.NewBatch(1024)
	for range 16 {
		batch.Add(1000, []byte("a room message of some forty bytes......"))
	}
	f := protocol.Frame{Ver: 1, Op: protocol.OpRaw, Body: batch.Frames()}
	s, c := testSession()
	defer c.cancel()
	c.items = make(chan item, 16)
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Body)))
	for b.Loop() {
		if err := s.handle(f, false); err != nil {
			b.Fatal(err)
		}
		for range 16 {
			<-c.items
		}
	}
}
