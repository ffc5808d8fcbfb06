package edge

import (
	"context"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

// BenchmarkWSHeartbeat is one heartbeat round trip over a real WebSocket
// connection (frame read, decode, handle, reply), per transport: the hot
// path of an idle fleet.
//
//	go test -run '^$' -bench WSHeartbeat ./edge/
func BenchmarkWSHeartbeat(b *testing.B) {
	for _, tr := range wsTransports {
		b.Run(tr, func(b *testing.B) {
			cl := newClusterWS(b, tr, func(c *Config) { c.UpstreamRate = 0 }, nil)
			c := dialRawWS(b, cl.edge.Addrs().WS)
			c.frame(ws.OpBinary, true, true, protocol.AppendFrame(nil, 1, protocol.OpAuth, 7, token(1, "k-bench-ws-hb", []string{"live://hb"})))
			c.expect(ws.OpBinary)
			frame := maskedFrames(ws.NewBinaryFrame(protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 1, nil)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.c.Write(frame); err != nil {
					b.Fatal(err)
				}
				if f, err := ws.ReadFrame(c.br); err != nil || f.Header.OpCode != ws.OpBinary {
					b.Fatal(err)
				}
			}
		})
	}
}

// typicalPush is a chat message as a JSON push, about 300 bytes.
var typicalPush = []byte(`{"type":"chat.message","room":"live://1000","msg_id":"01JEZ7Q3W9V5K2M8N4P6R0T1Y3","from":{"mid":1234567,"name":"someone","level":12,"badges":["subscriber","moderator"]},"text":"hello everyone, the stream starts in five minutes","ts":1733475600123}`)

// BenchmarkWSDeflate is the compression of one push as it is delivered
// (a goim frame in a WebSocket message): the CPU each compressed
// delivery adds, and the bytes it saves on the wire. "batch10" is a room
// batch of ten such pushes (one op-9 message).
//
//	go test -run '^$' -bench WSDeflate ./edge/
func BenchmarkWSDeflate(b *testing.B) {
	one := protocol.AppendFrame(nil, 1, 1000, 0, typicalPush)
	var inner []byte
	for range 10 {
		inner = protocol.AppendFrame(inner, 1, 1000, 0, typicalPush)
	}
	batch := protocol.AppendFrame(nil, 1, protocol.OpRaw, 0, inner)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{{"push", one}, {"batch10", batch}} {
		b.Run(tc.name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.msg)))
			for range b.N {
				buf = wsDeflate(tc.msg)
			}
			b.ReportMetric(float64(len(tc.msg)), "plain-B")
			b.ReportMetric(float64(len(buf)), "deflated-B")
		})
	}
}

// BenchmarkWSPushDelivery is a keys push delivered to a real WebSocket
// device on the netpoll transport, plain and compressed: the process's
// CPU per delivery (edge and device are in this process) and the
// message's bytes on the wire.
//
//	go test -run '^$' -bench WSPushDelivery ./edge/
func BenchmarkWSPushDelivery(b *testing.B) {
	for _, compress := range []bool{false, true} {
		name := "plain"
		if compress {
			name = "deflate"
		}
		b.Run(name, func(b *testing.B) {
			cl := newClusterWS(b, WSTransportNetpoll, func(c *Config) { c.WSCompression = compress }, nil)
			c := dialRawDeflate(b, cl.edge.Addrs().WS)
			c.frame(ws.OpBinary, true, true, protocol.AppendFrame(nil, 1, protocol.OpAuth, 7, token(1, "k-bench-push", nil, 1000)))
			c.expect(ws.OpBinary)
			h := cl.edge.Handler()
			req := &edge.PushKeysReq{Keys: []string{"k-bench-push"}, Op: 1000, Body: typicalPush}
			var wire int
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				if _, err := h.PushKeys(context.Background(), req); err != nil {
					b.Fatal(err)
				}
				_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
				f, err := ws.ReadFrame(c.br)
				if err != nil || f.Header.OpCode != ws.OpBinary || f.Header.Rsv1() != compress {
					b.Fatalf("frame %+v: %v", f.Header, err)
				}
				wire = ws.HeaderSize(f.Header) + len(f.Payload)
			}
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/delivery")
			b.ReportMetric(float64(wire), "wire-B/msg")
		})
	}
}

// BenchmarkWSFrameReader is the netpoll transport's frame reader on a
// heartbeat frame and on a message in three fragments (header parse,
// checks, unmask, reassembly), without the network.
//
//	go test -run '^$' -bench WSFrameReader ./edge/
func BenchmarkWSFrameReader(b *testing.B) {
	hb := protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 1, nil)
	auth := protocol.AppendFrame(nil, 1, protocol.OpAuth, 1, token(1, "k", []string{"live://1"}, 1000))
	for _, tc := range []struct {
		name   string
		stream []byte
	}{
		{"heartbeat", maskedFrames(ws.NewBinaryFrame(hb))},
		{"fragmented", maskedFrames(ws.NewFrame(ws.OpBinary, false, auth[:20]), ws.NewFrame(ws.OpContinuation, false, auth[20:40]), ws.NewFrame(ws.OpContinuation, true, auth[40:]))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, len(tc.stream))
			var rd wsReader
			src := &byteSource{}
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.stream)))
			for range b.N {
				copy(buf, tc.stream) // unmasking works in place
				src.b = buf
				for src.Len() > 0 {
					f, err := rd.next(src, 0)
					if err != nil {
						b.Fatal(err)
					}
					if f.op == ws.OpBinary {
						rd.done()
					}
				}
			}
		})
	}
}
