package device

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/goim-edge/goim-edge/protocol"
)

// recorder is a Handler that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	pushes []string
	online []int32
	done   chan struct{}
	want   int
}

func newRecorder(want int) *recorder { return &recorder{done: make(chan struct{}), want: want} }

func (r *recorder) Push(op int32, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pushes = append(r.pushes, string(body))
	r.check()
}

func (r *recorder) HeartbeatReply(n int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.online = append(r.online, n)
	r.check()
}

func (r *recorder) check() {
	if len(r.pushes)+len(r.online) == r.want {
		close(r.done)
	}
}

// serverScript is what the scripted peer sends after a good auth reply,
// given the client's heartbeat frame seq.
type serverScript func(send func([]byte), hbSeq int32)

func batch(bodies ...string) *protocol.Batch {
	b := protocol.NewBatch(64)
	for _, s := range bodies {
		b.Add(1000, []byte(s))
	}
	return b
}

// scriptedTCP serves one goim connection over real TCP: checks the auth
// token, replies, waits for a heartbeat, then runs the script.
func scriptedTCP(t *testing.T, refuse bool, script serverScript) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		f, _, err := protocol.ReadFrame(r, nil, protocol.MaxPackSize)
		if err != nil || f.Op != protocol.OpAuth {
			t.Errorf("first frame %+v, %v", f, err)
			return
		}
		var tok Token
		if err := json.Unmarshal(f.Body, &tok); err != nil || tok.Mid != 42 || tok.RoomID != "test://1" || !reflect.DeepEqual(tok.Accepts, []int32{1000}) {
			t.Errorf("token %s: %v", f.Body, err)
		}
		if refuse {
			return
		}
		c.Write(protocol.AppendFrame(nil, f.Ver, protocol.OpAuthReply, f.Seq, nil))
		hb, _, err := protocol.ReadFrame(r, nil, protocol.MaxPackSize)
		if err != nil || hb.Op != protocol.OpHeartbeat {
			t.Errorf("heartbeat frame %+v, %v", hb, err)
			return
		}
		script(func(b []byte) { c.Write(b) }, hb.Seq)
		// Until the device closes: closing first would race its Serve to
		// the end of the stream.
		_, _ = io.Copy(io.Discard, r)
	}()
	return ln.Addr().String()
}

// scriptedWS does the same over WebSocket at /sub.
func scriptedWS(t *testing.T, refuse bool, script serverScript) string {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sub" {
			http.NotFound(w, r)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		f, err := protocol.DecodeMessage(msg, protocol.MaxPackSize)
		if err != nil || f.Op != protocol.OpAuth {
			t.Errorf("first frame %+v, %v", f, err)
			return
		}
		if refuse {
			return
		}
		c.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, f.Ver, protocol.OpAuthReply, f.Seq, nil))
		_, msg, err = c.ReadMessage()
		if err != nil {
			return
		}
		hb, err := protocol.DecodeMessage(msg, protocol.MaxPackSize)
		if err != nil || hb.Op != protocol.OpHeartbeat {
			t.Errorf("heartbeat frame %+v, %v", hb, err)
			return
		}
		script(func(b []byte) { c.WriteMessage(websocket.BinaryMessage, b) }, hb.Seq)
		// Until the device closes (see scriptedTCP).
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/sub"
}

func hbReply(seq int32, n byte) []byte {
	return protocol.AppendFrame(nil, 1, protocol.OpHeartbeatReply, seq, []byte{0, 0, 0, n})
}

func TestDeviceReceivesEveryForm(t *testing.T) {
	tok := Token{Mid: 42, Key: "k1", RoomID: "test://1", Platform: "bench", Accepts: []int32{1000}}
	cases := []struct {
		name      string
		transport string
		script    serverScript
		want      []string
	}{
		{
			name: "tcp single pushes and unwrapped batch", transport: TCP,
			script: func(send func([]byte), seq int32) {
				send(hbReply(seq, 3))
				send(protocol.AppendFrame(nil, 1, 1000, 0, []byte("a")))
				send(batch("b", "c").Frames())
			},
			want: []string{"a", "b", "c"},
		},
		{
			name: "tcp wrapped OpRaw batch", transport: TCP,
			script: func(send func([]byte), seq int32) {
				send(hbReply(seq, 3))
				send(batch("r1", "r2").Raw())
			},
			want: []string{"r1", "r2"},
		},
		{
			name: "ws single push and OpRaw batch", transport: WS,
			script: func(send func([]byte), seq int32) {
				send(hbReply(seq, 3))
				send(protocol.AppendFrame(nil, 1, 1000, 0, []byte("a")))
				send(batch("r1", "r2").Raw())
			},
			want: []string{"a", "r1", "r2"},
		},
	}
	for _, c := range cases {
		for _, engine := range enginesFor(c.transport) {
			t.Run(c.name+"/"+engine, func(t *testing.T) {
				var addr string
				if c.transport == TCP {
					addr = scriptedTCP(t, false, c.script)
				} else {
					addr = scriptedWS(t, false, c.script)
				}
				conn, err := Connect(context.Background(), Options{Transport: c.transport, Addr: addr, Source: net.ParseIP("127.0.0.3"), Timeout: 5 * time.Second, Engine: engine}, tok)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				rec := newRecorder(len(c.want) + 1)
				served := make(chan error, 1)
				go func() { served <- conn.Serve(rec) }()
				if err := conn.Heartbeat(); err != nil {
					t.Fatal(err)
				}
				select {
				case <-rec.done:
				case err := <-served:
					served <- err
					t.Fatalf("serve ended early: %v (got %v)", err, rec.pushes)
				case <-time.After(5 * time.Second):
					t.Fatalf("timed out; got %v", rec.pushes)
				}
				conn.Close()
				<-served
				if conn.Reads() < 2 {
					t.Fatalf("reads = %d", conn.Reads())
				}
				rec.mu.Lock()
				defer rec.mu.Unlock()
				if !reflect.DeepEqual(rec.pushes, c.want) || !reflect.DeepEqual(rec.online, []int32{3}) {
					t.Fatalf("pushes %v online %v; want %v [3]", rec.pushes, rec.online, c.want)
				}
			})
		}
	}
}

// enginesFor lists the engines a transport's devices can be read by.
func enginesFor(transport string) []string {
	if transport == TCP {
		return []string{EngineGoroutine, EnginePoll}
	}
	return []string{""}
}

func TestAuthRefused(t *testing.T) {
	tok := Token{Mid: 42, RoomID: "test://1", Accepts: []int32{1000}}
	for _, tr := range []string{TCP, WS} {
		for _, engine := range enginesFor(tr) {
			t.Run(tr+"/"+engine, func(t *testing.T) {
				var addr string
				if tr == TCP {
					addr = scriptedTCP(t, true, nil)
				} else {
					addr = scriptedWS(t, true, nil)
				}
				_, err := Connect(context.Background(), Options{Transport: tr, Addr: addr, Timeout: 5 * time.Second, Engine: engine}, tok)
				if !errors.Is(err, ErrAuthRefused) {
					t.Fatalf("err = %v, want ErrAuthRefused", err)
				}
			})
		}
	}
}

func TestUnknownTransport(t *testing.T) {
	if _, err := Connect(context.Background(), Options{Transport: "udp"}, Token{}); err == nil {
		t.Fatal("udp accepted")
	}
	if _, err := Connect(context.Background(), Options{Transport: TCP, Engine: "threads"}, Token{}); err == nil {
		t.Fatal("engine threads accepted")
	}
}

func TestTokenJSON(t *testing.T) {
	b, err := Token{Mid: 1, RoomID: "live://1000", Platform: "web"}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"mid":1,"key":"","room_id":"live://1000","platform":"web","accepts":[]}`; string(b) != want {
		t.Fatalf("token = %s, want %s", b, want)
	}
}
