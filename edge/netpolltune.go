package edge

import (
	"fmt"
	"sync"

	"github.com/cloudwego/netpoll"
)

// netpoll sizes every connection's buffers process-wide. goim frames are
// small (a heartbeat is 16 bytes) and an idle device keeps one input
// buffer node of at least LinkBufferCap for life, so start at 64 bytes
// instead of 8 KiB (4 KiB nodes): at 15,000 connections that is 0.9 MiB
// instead of 60. Buffers still grow on demand, and a connection's read
// size doubles while reads fill it, so Kitex and Hertz (which share these
// settings) ramp up to their larger messages after a few reads.

var tuneOnce sync.Once

// TuneNetpoll sets netpoll's buffer sizes for many small idle
// connections. It changes netpoll for the whole process — Kitex and Hertz
// included — so the binary calls it once at start (app), before
// any connection exists: netpoll reads these settings when connections
// are created. Importing this package changes nothing by itself.
func TuneNetpoll() error {
	var err error
	tuneOnce.Do(func() {
		netpoll.LinkBufferCap = 64
		if e := netpoll.Configure(netpoll.Config{BufferSize: 64}); e != nil {
			err = fmt.Errorf("edge: configure netpoll: %w", e)
		}
	})
	return err
}
