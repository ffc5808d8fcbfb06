package edge

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gorilla/websocket"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	"github.com/goim-edge/goim-edge/protocol"
)

// rawWS is a WebSocket client that writes any frame, legal or not, for
// the framing cases a library client refuses to send.
type rawWS struct {
	t  testing.TB
	c  net.Conn
	br io.Reader
}

func dialRawWS(t testing.TB, addr string) *rawWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, br, _, err := ws.Dial(ctx, "ws://"+addr+"/sub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var r io.Reader = c
	if br != nil {
		r = io.MultiReader(br, c)
	}
	return &rawWS{t: t, c: c, br: r}
}

// frame writes one frame; masked unless told otherwise.
func (c *rawWS) frame(op ws.OpCode, fin, masked bool, payload []byte) {
	c.t.Helper()
	f := ws.NewFrame(op, fin, append([]byte(nil), payload...))
	if masked {
		f = ws.MaskFrameInPlace(f)
	}
	c.writeFrame(f)
}

func (c *rawWS) writeFrame(f ws.Frame) {
	c.t.Helper()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteFrame(c.c, f); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// next reads the next server frame.
func (c *rawWS) next() (ws.Frame, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return ws.ReadFrame(c.br)
}

// expect reads the next frame and checks its op.
func (c *rawWS) expect(op ws.OpCode) ws.Frame {
	c.t.Helper()
	f, err := c.next()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if f.Header.OpCode != op {
		c.t.Fatalf("got op %v (%q), want %v", f.Header.OpCode, f.Payload, op)
	}
	return f
}

// closeCode waits for the server's close frame and returns its code and
// reason, skipping data and pings sent before it.
func (c *rawWS) closeCode() (ws.StatusCode, string) {
	c.t.Helper()
	for {
		f, err := c.next()
		if err != nil {
			c.t.Fatalf("no close frame: %v", err)
		}
		if f.Header.OpCode == ws.OpClose {
			code, reason := ws.ParseCloseFrameData(f.Payload)
			return code, reason
		}
	}
}

func (c *rawWS) authFrame() []byte {
	return protocol.AppendFrame(nil, 1, protocol.OpAuth, 7, token(1, "", nil))
}

// TestWSFraming runs RFC 6455 framing cases against both transports: what
// each must accept, and the close code each sends when it refuses.
func TestWSFraming(t *testing.T) {
	forEachWS(t, testWSFraming)
}

func testWSFraming(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond }, nil)
	addr := cl.edge.Addrs().WS
	authReply := "\x00\x00\x00\x10\x00\x10\x00\x01\x00\x00\x00\x08\x00\x00\x00\x07"
	lying := protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 1, nil)
	binary.BigEndian.PutUint32(lying, 100)
	tests := []struct {
		name string
		run  func(c *rawWS)
		// want is the close code, per transport when they differ; 0: the
		// connection stays open.
		want map[string]ws.StatusCode
	}{
		{"fragmented auth", func(c *rawWS) {
			a := c.authFrame()
			c.frame(ws.OpBinary, false, true, a[:5])
			c.frame(ws.OpContinuation, false, true, a[5:20])
			c.frame(ws.OpContinuation, true, true, a[20:])
			if got := c.expect(ws.OpBinary); string(got.Payload) != authReply {
				t.Fatalf("auth reply %x", got.Payload)
			}
		}, nil},
		{"ping between fragments", func(c *rawWS) {
			a := c.authFrame()
			c.frame(ws.OpBinary, false, true, a[:10])
			c.frame(ws.OpPing, true, true, []byte("x"))
			c.frame(ws.OpContinuation, true, true, a[10:])
			if got := c.expect(ws.OpPong); string(got.Payload) != "x" {
				t.Fatalf("pong %q", got.Payload)
			}
			if got := c.expect(ws.OpBinary); string(got.Payload) != authReply {
				t.Fatalf("auth reply %x", got.Payload)
			}
		}, nil},
		{"unmasked frame", func(c *rawWS) {
			c.frame(ws.OpBinary, true, false, c.authFrame())
		}, map[string]ws.StatusCode{"hertz": 1002, "netpoll": 1002}},
		{"frame over the limit", func(c *rawWS) {
			// Only the header: the length alone refuses it.
			f := ws.MaskFrameInPlace(ws.NewBinaryFrame(make([]byte, 1<<20)))
			_ = ws.WriteHeader(c.c, f.Header)
		}, map[string]ws.StatusCode{"hertz": 1009, "netpoll": 1009}},
		{"fragments over the limit", func(c *rawWS) {
			c.frame(ws.OpBinary, false, true, make([]byte, 3000))
			c.frame(ws.OpContinuation, true, true, make([]byte, 3000))
		}, map[string]ws.StatusCode{"hertz": 1009, "netpoll": 1009}},
		{"goim frame over the limit", func(c *rawWS) {
			c.frame(ws.OpBinary, true, true, protocol.AppendFrame(nil, 1, 1000, 1, make([]byte, protocol.MaxBodySize+1)))
		}, map[string]ws.StatusCode{"hertz": 1009, "netpoll": 1009}},
		{"continuation without a message", func(c *rawWS) {
			c.frame(ws.OpContinuation, true, true, c.authFrame())
		}, map[string]ws.StatusCode{"hertz": 1002, "netpoll": 1002}},
		{"new message inside a fragmented one", func(c *rawWS) {
			c.frame(ws.OpBinary, false, true, []byte{0})
			c.frame(ws.OpBinary, true, true, []byte{0})
		}, map[string]ws.StatusCode{"hertz": 1002, "netpoll": 1002}},
		{"reserved bit without an extension", func(c *rawWS) {
			f := ws.NewBinaryFrame(c.authFrame())
			f.Header.Rsv = ws.Rsv(true, false, false)
			c.writeFrame(ws.MaskFrameInPlace(f))
		}, map[string]ws.StatusCode{"hertz": 1002, "netpoll": 1002}},
		{"reserved opcode", func(c *rawWS) {
			c.frame(ws.OpCode(3), true, true, nil)
		}, map[string]ws.StatusCode{"hertz": 1002, "netpoll": 1002}},
		{"control frame over 125 bytes", func(c *rawWS) {
			c.frame(ws.OpPing, true, true, make([]byte, 126))
		}, map[string]ws.StatusCode{"hertz": 1002, "netpoll": 1002}},
		{"fragmented control frame", func(c *rawWS) {
			c.frame(ws.OpPing, false, true, nil)
		}, map[string]ws.StatusCode{"hertz": 1002, "netpoll": 1002}},
		{"close reason not UTF-8", func(c *rawWS) {
			c.frame(ws.OpClose, true, true, append([]byte{0x03, 0xe8}, 0xff, 0xfe))
		}, map[string]ws.StatusCode{"hertz": 1002, "netpoll": 1007}},
		{"close is echoed", func(c *rawWS) {
			c.frame(ws.OpClose, true, true, ws.NewCloseFrameBody(1000, "bye"))
		}, map[string]ws.StatusCode{"hertz": 1000, "netpoll": 1000}},
		{"lying goim length", func(c *rawWS) {
			c.frame(ws.OpBinary, true, true, c.authFrame())
			c.expect(ws.OpBinary)
			c.frame(ws.OpBinary, true, true, lying)
		}, map[string]ws.StatusCode{"hertz": 1008, "netpoll": 1008}},
		{"first frame not auth", func(c *rawWS) {
			c.frame(ws.OpBinary, true, true, protocol.AppendFrame(nil, 1, protocol.OpHeartbeat, 1, nil))
		}, map[string]ws.StatusCode{"hertz": 1008, "netpoll": 1008}},
		{"frame never finished", func(c *rawWS) {
			f := ws.MaskFrameInPlace(ws.NewBinaryFrame(c.authFrame()))
			_ = ws.WriteHeader(c.c, f.Header)
			_, _ = c.c.Write(f.Payload[:3])
		}, map[string]ws.StatusCode{"hertz": 1008, "netpoll": 1008}},
		{"message never finished", func(c *rawWS) {
			c.frame(ws.OpBinary, false, true, c.authFrame()[:4])
		}, map[string]ws.StatusCode{"hertz": 1008, "netpoll": 1008}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRawWS(t, addr)
			c.t = t
			tt.run(c)
			want := tt.want[transport]
			if want == 0 {
				return
			}
			if code, reason := c.closeCode(); code != want {
				t.Fatalf("close code %d (%q), want %d", code, reason, want)
			}
		})
	}
}

// TestWSCloseBody: close reasons are cut to 123 bytes at a rune boundary
// and stay valid UTF-8.
func TestWSCloseBody(t *testing.T) {
	long := ""
	for range 70 {
		long += "é" // 2 bytes each
	}
	tests := []struct {
		reason string
		want   string
	}{
		{"bye", "bye"},
		{long, long[:122]},
		{"a\xffb", "ab"},
	}
	for _, tt := range tests {
		b := wsCloseBody(1001, tt.reason)
		if binary.BigEndian.Uint16(b) != 1001 || string(b[2:]) != tt.want || len(b) > 125 {
			t.Errorf("wsCloseBody(%q) = %q, want %q", tt.reason, b[2:], tt.want)
		}
	}
}

// TestWSCompression: a client that offers permessage-deflate gets
// compressed pushes once compression is on (and plain ones below the
// minimum size), and its own compressed frames are read; one that does
// not offer it is served uncompressed.
func TestWSCompression(t *testing.T) {
	forEachWS(t, testWSCompression)
}

func testWSCompression(t *testing.T, transport string) {
	cl := newClusterWS(t, transport, func(c *Config) { c.WSCompression = true }, nil)
	addr := cl.edge.Addrs().WS
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, EnableCompression: true}
	conn, resp, err := d.Dial("ws://"+addr+"/sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	if !strings.Contains(ext, "permessage-deflate") || !strings.Contains(ext, "server_no_context_takeover") || !strings.Contains(ext, "client_no_context_takeover") {
		t.Fatalf("extensions %q", ext)
	}
	c := &wsClient{t: t, c: conn}
	// The client compresses what it sends (gorilla does by default):
	// the auth frame arrives deflated and is read.
	c.auth(token(1, "k-deflate", []string{"live://deflate"}, 1000))
	body := []byte(strings.Repeat(`{"type":"chat","user":"someone","text":"hello, room"}`, 10))
	if _, err := cl.rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"k-deflate"}, Op: 1000, Body: body}); err != nil {
		t.Fatal(err)
	}
	if f := c.read(); f.Op != 1000 || string(f.Body) != string(body) {
		t.Fatalf("compressed push %+v", f)
	}

	// The same push on the wire, read raw: RSV1 is set and it is shorter.
	raw := dialRawDeflate(t, addr)
	raw.frame(ws.OpBinary, true, true, protocol.AppendFrame(nil, 1, protocol.OpAuth, 7, token(2, "k-deflate-raw", nil, 1000)))
	if f := raw.expect(ws.OpBinary); f.Header.Rsv1() {
		t.Fatalf("auth reply of %d bytes compressed (under the minimum)", len(f.Payload))
	}
	if _, err := cl.rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"k-deflate-raw"}, Op: 1000, Body: body}); err != nil {
		t.Fatal(err)
	}
	f := raw.expect(ws.OpBinary)
	if !f.Header.Rsv1() || len(f.Payload) >= len(body) {
		t.Fatalf("push: rsv1 %v, %d bytes on the wire for a %d-byte body", f.Header.Rsv1(), len(f.Payload), len(body))
	}
	plain, err := wsflate.DefaultHelper.Decompress(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := protocol.DecodeMessage(plain, len(plain)); err != nil || string(got.Body) != string(body) {
		t.Fatalf("decompressed push %q %v", plain, err)
	}

	// No offer, no compression.
	p := dialWS(t, addr)
	p.auth(token(3, "k-plain", nil, 1000))
	if _, err := cl.rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"k-plain"}, Op: 1000, Body: body}); err != nil {
		t.Fatal(err)
	}
	if f := p.read(); string(f.Body) != string(body) {
		t.Fatalf("plain push %+v", f)
	}
}

// dialRawDeflate is dialRawWS offering permessage-deflate.
func dialRawDeflate(t testing.TB, addr string) *rawWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := ws.Dialer{Extensions: []httphead.Option{wsflate.DefaultParameters.Option()}}
	c, br, _, err := d.Dial(ctx, "ws://"+addr+"/sub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var r io.Reader = c
	if br != nil {
		r = io.MultiReader(br, c)
	}
	return &rawWS{t: t, c: c, br: r}
}

// TestWSCloseCodes: the edge's own reasons for ending a WebSocket
// connection reach the device as close codes (wsCloseFor), on both
// transports.
func TestWSCloseCodes(t *testing.T) {
	forEachWS(t, testWSCloseCodes)
}

func testWSCloseCodes(t *testing.T, transport string) {
	// The handshake deadline covers auth too (the Connect call to logic):
	// 2 s, not less, so the cases that authenticate are not closed as slow
	// handshakes on a loaded machine; the handshake-timeout case waits it
	// out once.
	cl := newClusterWS(t, transport, func(c *Config) { c.HandshakeTimeout = 2 * time.Second },
		func(c *logicsvc.Config) { c.Heartbeat = time.Second; c.HeartbeatMax = 1 })
	addr := cl.edge.Addrs().WS
	authed := func(c *rawWS, key string) {
		c.frame(ws.OpBinary, true, true, protocol.AppendFrame(nil, 1, protocol.OpAuth, 7, token(1, key, nil)))
		c.expect(ws.OpBinary)
	}
	tests := []struct {
		name   string
		run    func(c *rawWS)
		code   ws.StatusCode
		reason string
	}{
		{"handshake timeout", func(*rawWS) {}, 1008, "handshake_timeout"},
		{"auth refused", func(c *rawWS) {
			c.frame(ws.OpBinary, true, true, protocol.AppendFrame(nil, 1, protocol.OpAuth, 7, []byte("not json")))
		}, 1008, "auth_failed"},
		{"heartbeat missed", func(c *rawWS) { authed(c, "k-close-idle") }, 1000, "heartbeat_timeout"},
		{"replaced", func(c *rawWS) {
			authed(c, "k-close-replaced")
			authed(dialRawWS(t, addr), "k-close-replaced")
		}, 1000, "replaced"},
		{"kicked", func(c *rawWS) {
			authed(c, "k-close-kicked")
			if _, err := cl.rpc.Kick(context.Background(), &edge.KickReq{Keys: []string{"k-close-kicked"}}); err != nil {
				t.Fatal(err)
			}
		}, 1008, "kicked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRawWS(t, addr)
			c.t = t
			tt.run(c)
			if code, reason := c.closeCode(); code != tt.code || reason != tt.reason {
				t.Fatalf("close %d %q, want %d %q", code, reason, tt.code, tt.reason)
			}
		})
	}
}
