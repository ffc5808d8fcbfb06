package worker

import (
	"bytes"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/protocol"
)

// positions is what a positioned device (Spec.Resume) holds of its two
// streams. Only positioned devices have one: a plain device pays one nil
// pointer. It is owned by the device's reader goroutine while connected,
// and by the (re)connecting goroutine in between, which starts the next
// reader only after the previous one ended.
type positions struct {
	room, user streamMark
	// since is the unix-nanos dial start of the reconnect awaiting its
	// room verdict (0: not measured, as on the first connect).
	since int64
	// judged is set when the room verdict of the current connect arrived.
	judged bool
}

// streamMark is the last position a device holds in one stream.
type streamMark struct {
	epoch  string
	offset int64
}

func (m *streamMark) set(epoch []byte, offset int64) {
	if string(epoch) != m.epoch { // compared without allocating
		m.epoch = string(epoch)
	}
	m.offset = offset
}

var roomPrefix = []byte(protocol.RoomStreamPrefix)

// request is the op-26 body: the device's room stream (when it has a
// room) and its user stream, each with the position held (none yet on a
// first connect: "everything kept", nothing on a fresh server).
func (p *positions) request(room string, mid int64) *protocol.ResumeRequest {
	req := &protocol.ResumeRequest{}
	if room != "" {
		req.Streams = append(req.Streams, protocol.StreamPos{Stream: protocol.RoomStream(room), Epoch: p.room.epoch, Offset: p.room.offset})
	}
	req.Streams = append(req.Streams, protocol.StreamPos{Stream: protocol.UserStream(mid), Epoch: p.user.epoch, Offset: p.user.offset})
	return req
}

// resumeAccount is the worker's tally of what its positioned devices saw.
type resumeAccount struct {
	positioned atomic.Int64
	// judged counts room verdicts, one per device per connect at most,
	// over the whole run (so a parent reading a stale progress event
	// never sees a count from before a reconnect as one after it).
	judged atomic.Int64
	// expect is CmdReconnect's messages per device.
	expect atomic.Int64

	mu           sync.Mutex
	verdicts     map[string]int
	messages     int64
	reconnected  int
	complete     int
	notRecovered map[string]int
	latency      *hist.Histogram
	start        int64
	lastComplete int64
}

func newResumeAccount() *resumeAccount {
	return &resumeAccount{verdicts: map[string]int{}, notRecovered: map[string]int{}, latency: hist.New()}
}

// Position implements device.Recovery: the device now holds offset in
// stream.
func (d *dev) Position(stream, epoch []byte, offset int64) {
	p := d.pos
	if p == nil {
		return
	}
	d.f.resume.positioned.Add(1)
	if bytes.HasPrefix(stream, roomPrefix) {
		p.room.set(epoch, offset)
	} else {
		p.user.set(epoch, offset)
	}
}

// ResumeReply implements device.Recovery: tally the verdicts, move to
// where they say the device stands, and judge the reconnect by its room
// verdict.
func (d *dev) ResumeReply(body []byte) {
	p := d.pos
	if p == nil {
		return
	}
	at := time.Now().UnixNano()
	var reply protocol.ResumeReply
	if err := json.Unmarshal(body, &reply); err != nil {
		d.f.rec.malformed.Add(1)
		return
	}
	a := d.f.resume
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, v := range reply.Streams {
		room := bytes.HasPrefix([]byte(v.Stream), roomPrefix)
		kind, m := "user", &p.user
		if room {
			kind, m = "room", &p.room
		}
		outcome := "recovered"
		if !v.Recovered {
			outcome = v.Reason
		}
		a.verdicts[kind+" "+outcome]++
		a.messages += int64(v.Count)
		if v.Epoch != "" {
			m.epoch, m.offset = v.Epoch, v.Offset
		}
		if !room || p.judged {
			continue
		}
		p.judged = true
		a.judged.Add(1)
		if p.since == 0 {
			continue
		}
		switch {
		case v.Recovered && int64(v.Count) == a.expect.Load():
			a.complete++
			a.latency.Record(time.Duration(at - p.since))
			a.lastComplete = max(a.lastComplete, at)
		case v.Recovered && int64(v.Count) < a.expect.Load():
			a.notRecovered["short"]++
		case v.Recovered:
			a.notRecovered["over"]++
		default:
			a.notRecovered[outcome]++
		}
	}
}

// reconnecting notes that d's reconnect dials at start.
func (a *resumeAccount) reconnecting(p *positions, start int64) {
	p.since, p.judged = start, false
	a.mu.Lock()
	a.reconnected++
	if a.start == 0 || start < a.start {
		a.start = start
	}
	a.mu.Unlock()
}

// failed counts a device whose reconnect did not get through.
func (a *resumeAccount) failed(p *positions) {
	p.since = 0
	a.mu.Lock()
	a.notRecovered["reconnect failed"]++
	a.mu.Unlock()
}

// result is the account, once every reader has ended; devices still
// awaiting their verdict count as "no verdict".
func (a *resumeAccount) result(devs []*dev) *ResumeResult {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range devs {
		if d.pos != nil && d.pos.since != 0 && !d.pos.judged {
			a.notRecovered["no verdict"]++
		}
	}
	r := &ResumeResult{
		Verdicts: a.verdicts, Messages: a.messages, Positioned: a.positioned.Load(),
		Reconnected: a.reconnected, Complete: a.complete, NotRecovered: a.notRecovered,
		Latency: a.latency, Start: a.start, LastComplete: a.lastComplete,
	}
	if len(r.Verdicts) == 0 {
		r.Verdicts = nil
	}
	if len(r.NotRecovered) == 0 {
		r.NotRecovered = nil
	}
	return r
}
