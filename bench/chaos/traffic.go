package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goim-edge/goim-edge/bench/push"
)

// maxInflight bounds the pushes waiting for an answer: when logic stalls,
// the pusher skips ticks (counted) instead of piling up requests.
const maxInflight = 64

// Push is one push the suite sent, with its answer.
type Push struct {
	ID       uint64
	Kind     string // mids, keys or room
	Op       int32
	Target   int    // device index for mids and keys
	Room     string // for room
	Sent     time.Time
	Answered time.Time
	// Code is goim's envelope code; Err is set when there was no envelope
	// (transport error, non-JSON answer).
	Code int
	Err  string
}

// Accepted is code 0 with an envelope.
func (p *Push) Accepted() bool { return p.Err == "" && p.Code == 0 }

// Traffic sends pushes of every kind at a steady rate to the fleet's
// devices and records each with its answer.
type Traffic struct {
	fleet  *Fleet
	http   *push.HTTP
	client *http.Client
	nextID atomic.Uint64

	mu      sync.Mutex
	pushes  []*Push
	skipped int
}

// NewTraffic pushes through logic's HTTP API at httpAddr.
func NewTraffic(f *Fleet, httpAddr string) *Traffic {
	return &Traffic{
		fleet:  f,
		http:   push.NewHTTP(httpAddr, maxInflight),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: maxInflight}},
	}
}

// Run pushes rate pushes per second until ctx ends, then waits for every
// answer. Kinds rotate: by mid, by key, to a room.
func (t *Traffic) Run(ctx context.Context, rate int) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxInflight)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			t.mu.Lock()
			t.skipped++
			t.mu.Unlock()
			continue
		}
		p := t.next(n)
		n++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.send(p)
		}()
	}
}

// next builds push number n of the rotation.
func (t *Traffic) next(n int) *Push {
	p := &Push{ID: t.nextID.Add(1)}
	devs := t.fleet.Devices
	switch n % 3 {
	case 0:
		p.Kind, p.Op, p.Target = push.Mids, opMid, (n*7919)%len(devs)
	case 1:
		p.Kind, p.Op, p.Target = push.Keys, opKey, (n*104729)%len(devs)
	default:
		p.Kind, p.Op, p.Room = push.Room, opRoom, t.fleet.Rooms[(n/3)%len(t.fleet.Rooms)]
	}
	return p
}

// send posts p and records it with its answer.
func (t *Traffic) send(p *Push) {
	tgt := push.Target{Kind: p.Kind, Op: p.Op, Room: p.Room}
	switch p.Kind {
	case push.Mids:
		tgt.Mids = []int64{t.fleet.Devices[p.Target].Mid}
	case push.Keys:
		tgt.Keys = []string{t.fleet.Devices[p.Target].Key}
	}
	body := []byte(bodyPrefix + strconv.FormatUint(p.ID, 10))
	p.Sent = time.Now()
	t.mu.Lock()
	t.pushes = append(t.pushes, p)
	t.mu.Unlock()
	code, err := t.post(tgt, body)
	answered := time.Now()
	t.mu.Lock()
	p.Answered, p.Code = answered, code
	if err != nil {
		p.Err = err.Error()
	}
	t.mu.Unlock()
}

// envelope is goim's HTTP answer.
type envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// post sends one push and returns the envelope's code.
func (t *Traffic) post(tgt push.Target, body []byte) (int, error) {
	u, err := t.http.URL(tgt)
	if err != nil {
		return 0, err
	}
	resp, err := t.client.Post(u, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("push %s: %w", tgt.Kind, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("push %s: read answer: %w", tgt.Kind, err)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return 0, fmt.Errorf("push %s: HTTP %d, not an envelope: %.200s", tgt.Kind, resp.StatusCode, raw)
	}
	return env.Code, nil
}

// BadPush sends one push with operation 9 (OpRaw, reserved for the
// server's own batches) to the mids of devices i and i+1 (one per edge)
// and returns the answer's code.
func (t *Traffic) BadPush(i int) (int, error) {
	d := t.fleet.Devices
	tgt := push.Target{Kind: push.Mids, Op: 9, Mids: []int64{d[i%len(d)].Mid, d[(i+1)%len(d)].Mid}}
	return t.post(tgt, []byte(bodyPrefix+"bad"))
}

// take returns and forgets the pushes sent so far and the skipped ticks.
func (t *Traffic) take() ([]*Push, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, s := t.pushes, t.skipped
	t.pushes, t.skipped = nil, 0
	return p, s
}
