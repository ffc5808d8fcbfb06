package e2e

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/client"
)

// TestClusterScriptSDKFailover: the Go SDK, as an ordinary device, on the
// cluster deploy/local/cluster.sh starts: connected to edge-1 (the first
// of the two edges' addresses, over TCP and over WebSocket), it
// reconnects to edge-2 when edge-1 is killed (SIGKILL: no close, its
// registry lease lives on), and pushes by mid reach it there.
func TestClusterScriptSDKFailover(t *testing.T) {
	tmp := t.TempDir()
	var out string
	off := -1
	for _, o := range clusterOffsets {
		var err error
		out, err = runClusterScript(tmp, o, "up")
		if err == nil {
			off = o
			break
		}
		if !strings.Contains(out, "ports already in use") {
			t.Fatalf("cluster.sh up: %v\n%s", err, out)
		}
	}
	if off < 0 {
		t.Fatalf("no free port set for cluster.sh among offsets %v", clusterOffsets)
	}
	t.Cleanup(func() {
		if clusterUp(tmp, off) {
			clusterScript(t, tmp, off, "down")
		}
	})
	m := regexp.MustCompile(`cluster: folder (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("up did not print its folder:\n%s", out)
	}
	edge1 := clusterPID(t, m[1], "edge-1")

	type dev struct {
		name, second string
		c            *client.Client
		mu           sync.Mutex
		msgs         []string
		connected    []string
	}
	devs := []*dev{
		{name: "tcp", second: at(off, 3201)},
		{name: "ws", second: "ws://" + at(off, 3202) + "/sub"},
	}
	addrs := map[string][]string{
		"tcp": {at(off, 3101), at(off, 3201)},
		"ws":  {"ws://" + at(off, 3102) + "/sub", "ws://" + at(off, 3202) + "/sub"},
	}
	for i, d := range devs {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, err := client.Dial(ctx, client.Options{
			Addrs:   addrs[d.name],
			Token:   client.JSONToken{Mid: int64(700 + i), Platform: "e2e", Accepts: []int32{1000}}.Bytes(),
			Backoff: client.Backoff{Min: 10 * time.Millisecond, Initial: 300 * time.Millisecond, Max: time.Second},
			OnMessage: func(m client.Message) {
				d.mu.Lock()
				d.msgs = append(d.msgs, string(m.Body))
				d.mu.Unlock()
			},
			OnState: func(e client.Event) {
				if e.State == client.Connected {
					d.mu.Lock()
					d.connected = append(d.connected, e.Addr)
					d.mu.Unlock()
				}
			},
		})
		cancel()
		if err != nil {
			t.Fatalf("%s: dial: %v", d.name, err)
		}
		d.c = c
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		if got := c.Addr(); got != addrs[d.name][0] {
			t.Fatalf("%s: connected to %s, want edge-1 %s", d.name, got, addrs[d.name][0])
		}
	}

	if err := syscall.Kill(edge1, syscall.SIGKILL); err != nil {
		t.Fatalf("kill edge-1 (pid %d): %v", edge1, err)
	}
	for i, d := range devs {
		poll(t, 30*time.Second, d.name+": reconnect to edge-2", func() bool {
			d.mu.Lock()
			defer d.mu.Unlock()
			return len(d.connected) == 2 && d.connected[1] == d.second
		})
		// logic routes the mid to edge-2 once the device authenticated
		// there; push until it lands (a push to nobody is still code 0).
		body := "after-failover-" + d.name
		q := map[string][]string{"operation": {"1000"}, "mids": {strconv.Itoa(700 + i)}}
		for try := 0; ; try++ {
			httpPush(t, at(off, 3111), "/goim/push/mids", q, body)
			ok := pollOK(5*time.Second, func() bool {
				d.mu.Lock()
				defer d.mu.Unlock()
				return len(d.msgs) > 0 && d.msgs[len(d.msgs)-1] == body
			})
			if ok {
				break
			}
			if try == 5 {
				t.Fatalf("%s: push by mid never reached the device on edge-2", d.name)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := d.c.Close(ctx); err != nil {
			t.Fatalf("%s: close: %v", d.name, err)
		}
		cancel()
	}
}

// poll waits until ok holds, failing after d.
func poll(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	if !pollOK(d, ok) {
		t.Fatalf("no %s within %v", what, d)
	}
}

// pollOK reports whether ok holds within d, checking every 20 ms.
func pollOK(d time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
