package client

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	jsclient "github.com/goim-edge/goim-edge/clients/js"
	"github.com/goim-edge/goim-edge/protocol"
)

// fakeRecoveryServer is a TEST DOUBLE of the server side of the recovery
// extension (docs/recovery.md: ops 26–30), which other engineers build
// in the edge and logic and which is not on this branch yet. It speaks
// the wire protocol over real TCP and WebSocket sockets with the
// protocol package's codec, keeps each stream's messages in memory, and
// records what clients send, so the SDK's side can be tested now. The
// same behaviour against the real server is tested in
// recovery_server_test.go (build tag recoveryserver).
//
// What it implements: op 26 before op 7 (held until the auth succeeds)
// and after it; recovery after a position with verdicts recovered, epoch
// (position from another epoch), no_history (unknown stream),
// not_followed (not the token's user nor a joined room) and unavailable
// (streams the test marks so); op 28 live pushes to positioned
// connections (plain frames to the others); op 29 acks (the user's
// highest acked offset, used for the user stream resumed without a
// position) answered by op 30; ops 2, 12, 22, 24.
type fakeRecoveryServer struct {
	t   *testing.T
	ln  net.Listener
	web *httptest.Server

	mu          sync.Mutex
	streams     map[string]*fakeStream
	acked       map[string]int64 // user stream → highest acked offset (current epoch)
	unavailable map[string]bool
	conns       map[*fakeConn]bool
	log         []fakeConnLog // per connection, in accept order
	acks        []protocol.Ack
	changed     chan struct{} // closed and replaced on every change

	wg sync.WaitGroup
}

type fakeStream struct {
	epoch string
	msgs  []fakeMsg
}

type fakeMsg struct {
	offset int64
	op     int32
	body   string
}

// fakeConnLog is what one connection sent: its ops in order and its
// resume requests.
type fakeConnLog struct {
	ops     []int32
	resumes []protocol.ResumeRequest
}

type fakeConn struct {
	idx        int
	mid        int64
	rooms      map[string]bool
	positioned bool

	wmu   sync.Mutex
	write func([]byte) error
	close func() error
}

func newFakeRecoveryServer(t *testing.T) *fakeRecoveryServer {
	t.Helper()
	s := &fakeRecoveryServer{
		t: t, streams: make(map[string]*fakeStream), acked: make(map[string]int64),
		unavailable: make(map[string]bool), conns: make(map[*fakeConn]bool), changed: make(chan struct{}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				br := bufio.NewReader(nc)
				var buf []byte
				s.serve(&fakeConn{write: func(b []byte) error { _, err := nc.Write(b); return err }, close: nc.Close},
					func() (protocol.Frame, error) {
						f, b, err := protocol.ReadFrame(br, buf, 1<<20)
						buf = b
						return f, err
					})
			}()
		}
	}()
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	s.web = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sub":
		case "/goim.js":
			// The JavaScript SDK and an empty page on the same origin,
			// for the Chromium tests (js_recovery_test.go).
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(jsclient.Module)
			return
		case "/":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<!doctype html><title>goim.js recovery test</title>"))
			return
		default:
			http.NotFound(w, r)
			return
		}
		wc, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.wg.Add(1)
		defer s.wg.Done()
		s.serve(&fakeConn{write: func(b []byte) error { return wc.WriteMessage(websocket.BinaryMessage, b) }, close: wc.Close},
			func() (protocol.Frame, error) {
				_, b, err := wc.ReadMessage()
				if err != nil {
					return protocol.Frame{}, err
				}
				return protocol.DecodeMessage(b, 1<<20)
			})
	}))
	t.Cleanup(s.stop)
	return s
}

func (s *fakeRecoveryServer) tcpAddr() string { return s.ln.Addr().String() }
func (s *fakeRecoveryServer) wsURL() string {
	return "ws" + strings.TrimPrefix(s.web.URL, "http") + "/sub"
}

func (s *fakeRecoveryServer) stop() {
	s.ln.Close()
	s.kick()
	s.web.CloseClientConnections()
	s.web.Close()
	s.wg.Wait()
}

// notify wakes the waiters; s.mu held.
func (s *fakeRecoveryServer) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor polls ok (under s.mu) until it holds, or fails after 10 s.
func (s *fakeRecoveryServer) waitFor(what string, ok func() bool) {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		done, ch := ok(), s.changed
		s.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			s.t.Fatalf("fake server: no %s within 10s; connections %+v; acks %+v", what, s.log, s.acks)
		}
	}
}

// connLog returns a copy of connection i's log.
func (s *fakeRecoveryServer) connLog(i int) fakeConnLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.log[i]
	return fakeConnLog{ops: append([]int32(nil), l.ops...), resumes: append([]protocol.ResumeRequest(nil), l.resumes...)}
}

// serve runs one connection: resume (optional) and auth first, then
// requests until it ends.
func (s *fakeRecoveryServer) serve(c *fakeConn, read func() (protocol.Frame, error)) {
	defer c.close()
	s.mu.Lock()
	c.idx = len(s.log)
	s.log = append(s.log, fakeConnLog{})
	s.mu.Unlock()
	record := func(f protocol.Frame) {
		s.mu.Lock()
		s.log[c.idx].ops = append(s.log[c.idx].ops, f.Op)
		if f.Op == protocol.OpResume {
			var r protocol.ResumeRequest
			_ = json.Unmarshal(f.Body, &r)
			s.log[c.idx].resumes = append(s.log[c.idx].resumes, r)
		}
		s.notify()
		s.mu.Unlock()
	}
	f, err := read()
	if err != nil {
		return
	}
	record(f)
	var held *protocol.Frame
	if f.Op == protocol.OpResume {
		h := protocol.Frame{Op: f.Op, Seq: f.Seq, Body: append([]byte(nil), f.Body...)}
		held = &h
		if f, err = read(); err != nil {
			return
		}
		record(f)
	}
	if f.Op != protocol.OpAuth {
		return // goim closes on anything but auth first
	}
	var tok JSONToken
	if json.Unmarshal(f.Body, &tok) != nil {
		return
	}
	c.mid = tok.Mid
	c.rooms = make(map[string]bool)
	if tok.RoomID != "" {
		c.rooms[tok.RoomID] = true
	}
	for _, r := range tok.Rooms {
		c.rooms[r] = true
	}
	// Auth reply, then (positioned before reachable) the recovery, under
	// s.mu so that no live push slips between.
	s.mu.Lock()
	c.send(protocol.AppendFrame(nil, 1, protocol.OpAuthReply, f.Seq, nil))
	if held != nil {
		c.positioned = true
		s.recoverLocked(c, held.Seq, held.Body)
	}
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	for {
		f, err := read()
		if err != nil {
			return
		}
		record(f)
		switch f.Op {
		case protocol.OpHeartbeat:
			c.send(protocol.AppendFrame(nil, 1, protocol.OpHeartbeatReply, f.Seq, []byte{0, 0, 0, 1}))
		case protocol.OpResume:
			s.mu.Lock()
			c.positioned = true
			s.recoverLocked(c, f.Seq, f.Body)
			s.mu.Unlock()
		case protocol.OpAck:
			var a protocol.Ack
			if json.Unmarshal(f.Body, &a) != nil {
				return
			}
			s.mu.Lock()
			s.acks = append(s.acks, a)
			us := protocol.UserStream(c.mid)
			if st := s.streams[us]; st != nil && st.epoch == a.Epoch && a.Offset > s.acked[us] {
				s.acked[us] = a.Offset
			}
			s.notify()
			s.mu.Unlock()
			c.send(protocol.AppendFrame(nil, 1, protocol.OpAckReply, f.Seq, nil))
		case protocol.OpChangeRoom, protocol.OpJoinRoom, protocol.OpLeaveRoom:
			room := string(f.Body)
			s.mu.Lock()
			switch f.Op {
			case protocol.OpChangeRoom:
				clear(c.rooms)
				if room != "" {
					c.rooms[room] = true
				}
			case protocol.OpJoinRoom:
				c.rooms[room] = true
			case protocol.OpLeaveRoom:
				delete(c.rooms, room)
			}
			s.mu.Unlock()
			c.send(protocol.AppendFrame(nil, 1, f.Op+1, f.Seq, f.Body))
		case protocol.OpSendMsg:
			c.send(protocol.AppendFrame(nil, 1, protocol.OpSendMsg, f.Seq, nil))
		}
	}
}

func (c *fakeConn) send(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.write(b) != nil {
		_ = c.close()
	}
}

func (c *fakeConn) follows(stream string) bool {
	if c.mid != 0 && stream == protocol.UserStream(c.mid) {
		return true
	}
	return strings.HasPrefix(stream, protocol.RoomStreamPrefix) && c.rooms[strings.TrimPrefix(stream, protocol.RoomStreamPrefix)]
}

// recoverLocked answers one op 26: the missed messages per stream, then
// the verdicts (op 27, seq echoed). s.mu held.
func (s *fakeRecoveryServer) recoverLocked(c *fakeConn, seq int32, body []byte) {
	var req protocol.ResumeRequest
	if json.Unmarshal(body, &req) != nil {
		_ = c.close()
		return
	}
	var reply protocol.ResumeReply
	for _, p := range req.Streams {
		v := protocol.StreamVerdict{Stream: p.Stream}
		st := s.streams[p.Stream]
		switch {
		case !c.follows(p.Stream):
			v.Reason = protocol.ReasonNotFollowed
		case s.unavailable[p.Stream]:
			v.Reason = protocol.ReasonUnavailable
		case st == nil:
			v.Reason = protocol.ReasonNoHistory
		default:
			from := p.Offset
			v.Recovered = true
			switch {
			case p.Epoch == "" && p.Offset == 0:
				from = s.acked[p.Stream] // 0 for rooms: everything kept
			case p.Epoch != st.epoch:
				from, v.Recovered, v.Reason = 0, false, protocol.ReasonEpoch
			}
			for _, m := range st.msgs {
				if m.offset > from {
					c.send(protocol.AppendPositioned(nil, p.Stream, st.epoch, m.offset, m.op, []byte(m.body)))
					v.Count++
				}
			}
			v.Epoch = st.epoch
			if n := len(st.msgs); n > 0 {
				v.Offset = st.msgs[n-1].offset
			}
		}
		reply.Streams = append(reply.Streams, v)
	}
	b, _ := json.Marshal(reply)
	c.send(protocol.AppendFrame(nil, 1, protocol.OpResumeReply, seq, b))
}

// stream returns (creating) stream's state; s.mu held.
func (s *fakeRecoveryServer) streamLocked(stream string) *fakeStream {
	st := s.streams[stream]
	if st == nil {
		st = &fakeStream{epoch: "e" + strconv.Itoa(len(s.streams)+1) + "00f"}
		s.streams[stream] = st
	}
	return st
}

// push appends a message to stream and sends it to the connections that
// follow it: op 28 to positioned ones, a plain frame to the others. It
// returns the message's offset.
func (s *fakeRecoveryServer) push(stream string, op int32, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streamLocked(stream)
	off := int64(1)
	if n := len(st.msgs); n > 0 {
		off = st.msgs[n-1].offset + 1
	}
	st.msgs = append(st.msgs, fakeMsg{off, op, body})
	for c := range s.conns {
		if !c.follows(stream) {
			continue
		}
		if c.positioned {
			c.send(protocol.AppendPositioned(nil, stream, st.epoch, off, op, []byte(body)))
		} else {
			c.send(protocol.AppendFrame(nil, 1, op, 0, []byte(body)))
		}
	}
	return off
}

// keep stores messages in stream without sending them (missed while the
// device was away).
func (s *fakeRecoveryServer) keep(stream string, op int32, bodies ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streamLocked(stream)
	for _, b := range bodies {
		off := int64(1)
		if n := len(st.msgs); n > 0 {
			off = st.msgs[n-1].offset + 1
		}
		st.msgs = append(st.msgs, fakeMsg{off, op, b})
	}
}

// epoch returns stream's epoch.
func (s *fakeRecoveryServer) epoch(stream string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streamLocked(stream).epoch
}

// lose replaces stream's history by a new epoch (Redis flushed).
func (s *fakeRecoveryServer) lose(stream, epoch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams[stream] = &fakeStream{epoch: epoch}
}

// sendAll writes a raw frame to every connection (duplicates, batches).
func (s *fakeRecoveryServer) sendAll(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.send(frame)
	}
}

// kick closes every connection (the edge died).
func (s *fakeRecoveryServer) kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.close()
	}
}

// ackList returns a copy of the acks received.
func (s *fakeRecoveryServer) ackList() []protocol.Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]protocol.Ack(nil), s.acks...)
}

// batch wraps frames in one op-9 frame, as the edge batches room pushes.
func batch(frames ...[]byte) []byte {
	var body []byte
	for _, f := range frames {
		body = append(body, f...)
	}
	return protocol.AppendFrame(nil, 1, protocol.OpRaw, 0, body)
}
