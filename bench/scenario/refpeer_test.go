package scenario

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/goim-edge/goim-edge/protocol"
)

// refPeer is a deliberately small goim peer used to check the harness's
// own accounting: it speaks goim's TCP, WebSocket and HTTP push API over
// real sockets, and can be told to drop or repeat pushes so the test sees
// the harness report exactly those faults. The harness's results against
// the real server are tested in integration_test.go.
type refPeer struct {
	tcp net.Listener
	// tcp2 is a second edge address sharing the same devices and rooms.
	tcp2 net.Listener
	// accepted counts TCP devices per listener.
	accepted [2]int
	ws       *httptest.Server
	http     *httptest.Server

	mu    sync.Mutex
	conns map[*peerConn]bool
	// dropEvery/dupEvery > 0 drop or repeat every n-th room push delivery.
	dropEvery, dupEvery int
	roomPushes          int
}

type peerConn struct {
	write   func([]byte) error
	key     string
	mid     int64
	room    string
	accepts []int32
}

func newRefPeer(t *testing.T) *refPeer {
	p := &refPeer{conns: map[*peerConn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.tcp, p.tcp2 = ln, ln2
	for i, l := range []net.Listener{ln, ln2} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				p.mu.Lock()
				p.accepted[i]++
				p.mu.Unlock()
				go p.serveTCP(c)
			}
		}()
	}
	up := websocket.Upgrader{}
	p.ws = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		p.serveWS(c)
	}))
	p.http = httptest.NewServer(http.HandlerFunc(p.serveHTTP))
	t.Cleanup(func() {
		ln.Close()
		ln2.Close()
		p.ws.Close()
		p.http.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.conns {
			c.write = func([]byte) error { return io.ErrClosedPipe }
		}
	})
	return p
}

func (p *refPeer) wsURL() string { return "ws" + strings.TrimPrefix(p.ws.URL, "http") + "/sub" }

func (p *refPeer) auth(body []byte, write func([]byte) error) (*peerConn, bool) {
	var tok struct {
		Mid     int64   `json:"mid"`
		Key     string  `json:"key"`
		RoomID  string  `json:"room_id"`
		Accepts []int32 `json:"accepts"`
	}
	if json.Unmarshal(body, &tok) != nil {
		return nil, false
	}
	c := &peerConn{write: write, key: tok.Key, mid: tok.Mid, room: tok.RoomID, accepts: tok.Accepts}
	p.mu.Lock()
	p.conns[c] = true
	p.mu.Unlock()
	return c, true
}

func (p *refPeer) drop(c *peerConn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *refPeer) serveTCP(nc net.Conn) {
	defer nc.Close()
	r := bufio.NewReader(nc)
	f, _, err := protocol.ReadFrame(r, nil, protocol.MaxPackSize)
	if err != nil || f.Op != protocol.OpAuth {
		return
	}
	var wmu sync.Mutex
	write := func(b []byte) error { wmu.Lock(); defer wmu.Unlock(); _, err := nc.Write(b); return err }
	c, ok := p.auth(f.Body, write)
	if !ok {
		return
	}
	defer p.drop(c)
	write(protocol.AppendFrame(nil, f.Ver, protocol.OpAuthReply, f.Seq, nil))
	for {
		f, _, err := protocol.ReadFrame(r, nil, protocol.MaxPackSize)
		if err != nil {
			return
		}
		if f.Op == protocol.OpHeartbeat {
			write(protocol.AppendFrame(nil, f.Ver, protocol.OpHeartbeatReply, f.Seq, []byte{0, 0, 0, byte(p.count(c.room))}))
		}
	}
}

func (p *refPeer) serveWS(ws *websocket.Conn) {
	defer ws.Close()
	_, msg, err := ws.ReadMessage()
	if err != nil {
		return
	}
	f, err := protocol.DecodeMessage(msg, protocol.MaxPackSize)
	if err != nil || f.Op != protocol.OpAuth {
		return
	}
	var wmu sync.Mutex
	// WebSocket pushes go out as OpRaw batches, as goim's do.
	write := func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		if h, err := protocol.ParseHeader(b, len(b)); err == nil && h.Op >= 1000 {
			b = protocol.AppendFrame(nil, 1, protocol.OpRaw, 0, b)
		}
		return ws.WriteMessage(websocket.BinaryMessage, b)
	}
	c, ok := p.auth(f.Body, write)
	if !ok {
		return
	}
	defer p.drop(c)
	write(protocol.AppendFrame(nil, f.Ver, protocol.OpAuthReply, f.Seq, nil))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if f, err := protocol.DecodeMessage(msg, protocol.MaxPackSize); err == nil && f.Op == protocol.OpHeartbeat {
			write(protocol.AppendFrame(nil, f.Ver, protocol.OpHeartbeatReply, f.Seq, []byte{0, 0, 0, byte(p.count(c.room))}))
		}
	}
}

func (p *refPeer) count(room string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c := range p.conns {
		if c.room == room {
			n++
		}
	}
	return n
}

func (p *refPeer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	op, err := strconv.Atoi(q.Get("operation"))
	if err != nil {
		w.WriteHeader(400)
		io.WriteString(w, `{"code":-400,"message":"operation"}`)
		return
	}
	frame := protocol.AppendFrame(nil, 1, int32(op), 0, body)
	var targets []*peerConn
	p.mu.Lock()
	for c := range p.conns {
		switch r.URL.Path {
		case "/goim/push/keys":
			if slices.Contains(q["keys"], c.key) && slices.Contains(c.accepts, int32(op)) {
				targets = append(targets, c)
			}
		case "/goim/push/mids":
			if slices.Contains(q["mids"], strconv.FormatInt(c.mid, 10)) && slices.Contains(c.accepts, int32(op)) {
				targets = append(targets, c)
			}
		case "/goim/push/room":
			if c.room == q.Get("type")+"://"+q.Get("room") {
				targets = append(targets, c)
			}
		case "/goim/push/all":
			if slices.Contains(c.accepts, int32(op)) {
				targets = append(targets, c)
			}
		}
	}
	isRoom := r.URL.Path == "/goim/push/room"
	p.mu.Unlock()
	for _, c := range targets {
		n := 1
		if isRoom {
			p.mu.Lock()
			p.roomPushes++
			k := p.roomPushes
			p.mu.Unlock()
			if p.dropEvery > 0 && k%p.dropEvery == 0 {
				n = 0
			}
			if p.dupEvery > 0 && k%p.dupEvery == 0 {
				n = 2
			}
		}
		for range n {
			c.write(frame)
		}
	}
	io.WriteString(w, `{"code":0,"message":""}`)
}
