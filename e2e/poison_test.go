package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// postPush posts to the HTTP push API and returns status and exact body.
func postPush(t *testing.T, httpAddr, route string, q url.Values, body string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post("http://"+httpAddr+route+"?"+q.Encode(), "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("push %s: %v", route, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(got)
}

// expectNext fails unless the very next frame the device reads is op with
// body: nothing else (an op-9 body read as frames, a lost push) came first.
func (d *device) expectNext(op int32, body string, timeout time.Duration) {
	d.t.Helper()
	f, err := d.tryRead(timeout)
	if err != nil {
		d.t.Fatalf("%s: waiting for op %d %q: %v", d.name, op, body, err)
	}
	if f.Op != op || string(f.Body) != body {
		d.t.Fatalf("%s: read op %d %q, want op %d %q", d.name, f.Op, f.Body, op, body)
	}
}

// Issue 12, "one bad push from a caller stops delivery to every edge":
// three posts of operation=9 were answered code 0, the edges rejected
// them, job opened every edge's breaker and 8 of 15 pushes by mid sent
// right after were lost. Now the bad pushes get goim's -400 at once and
// never reach job or an edge, and every push after them is delivered.
func TestClusterBadPushRefusedOthersDelivered(t *testing.T) {
	c := startCluster(t)
	a := dial(t, "device-on-edge-1", c.edgeTCP[0], 7, "phone", "live://9")
	b := dial(t, "device-on-edge-2", c.edgeTCP[1], 8, "laptop", "live://9")

	// Both devices are reachable before the bad pushes.
	httpPush(t, c.httpAddr, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"7", "8"}}, "before")
	a.expectNext(1000, "before", 10*time.Second)
	b.expectNext(1000, "before", 10*time.Second)

	bad := []struct {
		route string
		q     url.Values
	}{
		{"/goim/push/mids", url.Values{"operation": {"9"}, "mids": {"7", "8"}}},
		{"/goim/push/keys", url.Values{"operation": {"9"}, "keys": {"phone", "laptop"}}},
		{"/goim/push/room", url.Values{"operation": {"9"}, "type": {"live"}, "room": {"9"}}},
	}
	want := `{"code":-400,"message":"invalid request: operation 9 is reserved by the protocol (0-17 and 22-30 cannot be pushed; business ops are 1000 and up)"}`
	for _, p := range bad {
		status, body := postPush(t, c.httpAddr, p.route, p.q, "poison")
		if status != http.StatusBadRequest || body != want {
			t.Fatalf("%s?%s = %d %s, want 400 %s", p.route, p.q.Encode(), status, body, want)
		}
	}

	// The follow-up: 15 pushes by mid, 120 ms apart, to a user on
	// each edge. Every one is accepted and arrives, in order, with nothing
	// in between.
	for i := range 15 {
		msg := fmt.Sprintf("after-%d", i)
		httpPush(t, c.httpAddr, "/goim/push/mids", url.Values{"operation": {"1001"}, "mids": {"7", "8"}}, msg)
		time.Sleep(120 * time.Millisecond)
	}
	for i := range 15 {
		msg := fmt.Sprintf("after-%d", i)
		a.expectNext(1001, msg, 10*time.Second)
		b.expectNext(1001, msg, 10*time.Second)
	}
	// Room pushes reach both edges too.
	httpPush(t, c.httpAddr, "/goim/push/room", url.Values{"operation": {"1002"}, "type": {"live"}, "room": {"9"}}, "room-after")
	a.expectNext(1002, "room-after", 10*time.Second)
	b.expectNext(1002, "room-after", 10*time.Second)
}
