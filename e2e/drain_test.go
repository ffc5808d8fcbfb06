package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// waitDraining polls logic's /goim/nodes/instances until node is listed
// with "draining": true.
func waitDraining(t *testing.T, c *cluster, node string, d time.Duration) {
	t.Helper()
	if last, ok := seenDraining(c, node, d); !ok {
		t.Fatalf("%s not listed as draining after %v: %s", node, d, last)
	}
}

// seenDraining is waitDraining's poll: it reports whether node was seen
// draining within d, and the last listing.
func seenDraining(c *cluster, node string, d time.Duration) (string, bool) {
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + c.httpAddr + "/goim/nodes/instances")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			for _, inst := range strings.Split(last, "},{") {
				if strings.Contains(inst, `"node":"`+node+`"`) && strings.Contains(inst, `"draining":true`) {
					return last, true
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last, false
}

// tryPush posts a push by mid; false when it was not answered with
// goim's success envelope.
func tryPush(httpAddr string, mid int64, body string) bool {
	c := http.Client{Timeout: 5 * time.Second}
	q := url.Values{"operation": {"1000"}, "mids": {fmt.Sprint(mid)}}
	resp, err := c.Post("http://"+httpAddr+"/goim/push/mids?"+q.Encode(), "text/plain", strings.NewReader(body))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == 200 && string(got) == `{"code":0,"message":""}`
}

// drainTally counts one device's pushes while its edge drains.
type drainTally struct {
	sent, delivered, afterTerm int
	// inFlight is the push the device was waiting for when its connection
	// ended (0 or 1: pushes go one at a time).
	inFlight int
	lost     int
	// closedAt is when the device saw its connection end.
	closedAt time.Time
}

// TestClusterDrainDelivers: SIGTERM an edge that holds devices, with a
// close rate that makes the drain last seconds. Until its own connection
// ends, every device keeps getting pushes by mid sent through logic and
// job (one at a time: the next once the previous arrived): the draining
// edge stays registered (marked draining) and a push target until its
// last device is gone, then deregisters and exits 0. The devices'
// connections end no sooner than drain_delay after SIGTERM and paced at
// close_rate: from the devices' own close times, the closes of n devices
// at 3/s span at least (n-1)/3 s.
func TestClusterDrainDelivers(t *testing.T) {
	const (
		drainDelay = 2 * time.Second
		closeRate  = 3
	)
	c := startClusterWith(t, clusterOpts{edgeShutdown: fmt.Sprintf("timeout = \"30s\"\ndrain_delay = %q\nclose_rate = %d", drainDelay, closeRate)})
	const n = 8
	devs := make([]*device, n)
	for i := range devs {
		devs[i] = dial(t, fmt.Sprint("drain-device-", i), c.edgeTCP[0], int64(500+i), fmt.Sprint("drain-", i), "")
	}
	// Idle devices that only wait for their connection to end: their
	// close times are exact (a pushing device notices between pushes).
	const idle = 4
	idles := make([]*device, idle)
	for i := range idles {
		idles[i] = dial(t, fmt.Sprint("idle-device-", i), c.edgeTCP[0], int64(550+i), fmt.Sprint("idle-", i), "")
	}
	idleClosed := make([]time.Time, idle)
	other := dial(t, "device-on-edge-2", c.edgeTCP[1], 600, "stays", "")
	for i, d := range devs {
		httpPush(t, c.httpAddr, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {fmt.Sprint(500 + i)}}, "hello")
		d.expect(1000, "hello", 10*time.Second)
	}

	tallies := make([]drainTally, n)
	var wg sync.WaitGroup
	term := make(chan struct{})
	for i, d := range devs {
		wg.Go(func() {
			tl := &tallies[i]
			started := false
			for seq := 0; ; seq++ {
				select {
				case <-term:
					started = true
				default:
				}
				time.Sleep(20 * time.Millisecond) // a steady stream, not a flood
				body := fmt.Sprintf("m%d-%d", 500+i, seq)
				if !tryPush(c.httpAddr, int64(500+i), body) {
					t.Errorf("%s: push %s not accepted", d.name, body)
					return
				}
				tl.sent++
				// Wait for it, or for the connection to end.
				deadline := time.Now().Add(15 * time.Second)
				for {
					f, err := d.tryRead(time.Until(deadline))
					if err != nil {
						if isTimeout(err) {
							tl.lost++
							t.Errorf("%s: push %s not delivered within 15s while connected", d.name, body)
						} else {
							tl.inFlight++
							tl.closedAt = time.Now()
						}
						return
					}
					if f.Op == 1000 && string(f.Body) == body {
						tl.delivered++
						if started {
							tl.afterTerm++
						}
						break
					}
				}
			}
		})
	}
	for i, d := range idles {
		wg.Go(func() {
			if f, err := d.tryRead(time.Minute); err == nil {
				t.Errorf("%s: got op %d, want only its connection's end", d.name, f.Op)
			} else if isTimeout(err) {
				t.Errorf("%s: still connected a minute on", d.name)
			} else {
				idleClosed[i] = time.Now()
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // some pushes before the signal
	sigterm := time.Now()
	_ = c.edges[0].cmd.Process.Signal(syscall.SIGTERM)
	close(term)
	// Draining, not gone: new devices are sent elsewhere, job still pushes.
	var listing string
	var draining bool
	polled := make(chan struct{})
	go func() { defer close(polled); listing, draining = seenDraining(c, "edge-1", 5*time.Second) }()
	wg.Wait()
	<-polled
	if err := c.edges[0].wait(t, 30*time.Second); err != nil {
		t.Fatalf("edge-1: exit %v", err)
	}
	waitGone(t, c, "edge-1", 5*time.Second)

	var sum drainTally
	for i, tl := range tallies {
		t.Logf("device %d: sent %d, delivered %d (%d after SIGTERM), in flight at its close %d, lost %d", i, tl.sent, tl.delivered, tl.afterTerm, tl.inFlight, tl.lost)
		sum.sent += tl.sent
		sum.delivered += tl.delivered
		sum.afterTerm += tl.afterTerm
		sum.inFlight += tl.inFlight
		sum.lost += tl.lost
		// The device is closed no sooner than drain_delay (2 s) after
		// SIGTERM: it gets pushes throughout (the old drain delivered none
		// once the edge had deregistered, 0.1 s after SIGTERM).
		if tl.afterTerm < 3 {
			t.Errorf("device %d got %d pushes after SIGTERM, want the pushes of its last seconds", i, tl.afterTerm)
		}
	}
	t.Logf("drain: pushes sent %d, delivered %d (%d after SIGTERM), in flight at a device's close %d, lost %d", sum.sent, sum.delivered, sum.afterTerm, sum.inFlight, sum.lost)
	if sum.lost != 0 {
		t.Fatalf("%d pushes lost to connected devices", sum.lost)
	}

	// shutdown.close_rate, from the close times the devices saw (a
	// pushing device may see its close a push late, which only shortens
	// the span, hence the slack; an unpaced close spans about nothing).
	closes := append([]time.Time(nil), idleClosed...)
	for _, tl := range tallies {
		closes = append(closes, tl.closedAt)
	}
	var first, last time.Time
	for i, at := range closes {
		if at.IsZero() {
			t.Fatalf("device %d of %d: no close seen", i, len(closes))
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	span := last.Sub(first)
	want := time.Duration(len(closes)-1) * time.Second / closeRate
	t.Logf("%d devices closed from %v to %v after SIGTERM (span %v; %d at %d/s: %v)", len(closes),
		first.Sub(sigterm).Round(time.Millisecond), last.Sub(sigterm).Round(time.Millisecond), span.Round(time.Millisecond), len(closes), closeRate, want.Round(time.Millisecond))
	if d := first.Sub(sigterm); d < drainDelay {
		t.Errorf("first device closed %v after SIGTERM, before drain_delay %v", d, drainDelay)
	}
	if slack := time.Second; span < want-slack {
		t.Errorf("closes spanned %v, want at least %v (%d devices at close_rate %d/s, less %v slack): not paced", span, want-slack, len(closes), closeRate, slack)
	}
	if limit := want + 10*time.Second; span > limit {
		t.Errorf("closes spanned %v, want at most %v: slower than close_rate %d/s", span, limit, closeRate)
	}
	if !draining {
		t.Fatalf("edge-1 was not listed as draining while it drained: %s", listing)
	}
	if log := c.edges[0].log.String(); !strings.Contains(log, `"msg":"closing connections"`) || !strings.Contains(log, `"msg":"connections closed; deregistering"`) {
		t.Fatalf("edge-1 did not drain paced before deregistering; log:\n%s", log)
	}
	// The other edge was never affected.
	httpPush(t, c.httpAddr, "/goim/push/mids", url.Values{"operation": {"1000"}, "mids": {"600"}}, "still-here")
	other.expect(1000, "still-here", 10*time.Second)
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// TestClusterRoutesSurviveRedisLoss: the Redis holding routes loses
// everything (FLUSHALL, then a restart without persistence); pushes by
// mid reach the connected devices of both edges within seconds, although
// route renewals are ten minutes apart: the edges see the store's new
// epoch and restore their routes.
func TestClusterRoutesSurviveRedisLoss(t *testing.T) {
	c := startClusterWith(t, clusterOpts{
		edgeShutdown: "timeout = \"10s\"",
		edgeExtra:    "route_renew_interval = \"10m\"\nepoch_interval = \"500ms\"",
	})
	type dev struct {
		d   *device
		mid int64
	}
	var devs []dev
	for e := range 2 {
		for i := range 3 {
			mid := int64(700 + 10*e + i)
			devs = append(devs, dev{dial(t, fmt.Sprintf("edge-%d-device-%d", e+1, i), c.edgeTCP[e], mid, fmt.Sprint("rl-", mid), ""), mid})
		}
	}
	deliver := func(stage string) {
		t.Helper()
		sent, delivered := 0, 0
		for _, d := range devs {
			deadline := time.Now().Add(15 * time.Second)
			for try := 0; ; try++ {
				body := fmt.Sprintf("%s-%d-%d", stage, d.mid, try)
				if tryPush(c.httpAddr, d.mid, body) {
					sent++
				}
				// Any of this stage's pushes arriving will do.
				got := false
				for {
					f, err := d.d.tryRead(500 * time.Millisecond)
					if err != nil {
						if !isTimeout(err) {
							t.Fatalf("%s: %s: %v", stage, d.d.name, err)
						}
						break
					}
					if f.Op == 1000 && strings.HasPrefix(string(f.Body), fmt.Sprintf("%s-%d-", stage, d.mid)) {
						got = true
					}
				}
				if got {
					delivered++
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: no push by mid reached %s within 15s (route renewals are 10 min apart)", stage, d.d.name)
				}
			}
		}
		t.Logf("%s: pushes sent %d, delivered %d (each device once; the others were sent before its route was back)", stage, sent, delivered)
	}
	deliver("before")
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr})
	defer rdb.Close()
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	deliver("after-flushall")
	c.redis.Stop()
	if err := c.redis.Start(); err != nil {
		t.Fatal(err)
	}
	deliver("after-restart")
	for _, p := range []*proc{c.edges[0], c.edges[1]} {
		if !strings.Contains(p.log.String(), `"msg":"edge: routes restored"`) {
			t.Errorf("%s did not restore its routes; log:\n%s", p.name, p.log.String())
		}
	}
}
