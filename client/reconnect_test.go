package client

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"
)

// fastBackoff keeps reconnect tests short; the policy is the same.
var fastBackoff = Backoff{Min: 10 * time.Millisecond, Initial: 300 * time.Millisecond, Max: time.Second}

func TestReconnectAfterServerRestart(t *testing.T) {
	s := startStandalone(t)
	for _, tr := range transports(s) {
		t.Run(tr.name, func(t *testing.T) {
			c, b := dialInbox(t, Options{
				Addrs:   []string{tr.addr},
				Token:   JSONToken{Mid: 300, Key: "re-" + tr.name, RoomID: "live://300", Accepts: []int32{1000}}.Bytes(),
				Backoff: fastBackoff,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			// Changes made on the connection are applied again after the
			// reconnect.
			if err := c.JoinRoom(ctx, "chat://re-"+tr.name); err != nil {
				t.Fatal(err)
			}
			s.restart(t)
			b.waitConnected(t, 2)
			b.mu.Lock()
			var states []State
			for _, e := range b.events {
				states = append(states, e.State)
			}
			b.mu.Unlock()
			want := []State{Connected, Disconnected, Reconnecting}
			for i, st := range want {
				if i >= len(states) || states[i] != st {
					t.Fatalf("events %v, want them to start with %v", states, want)
				}
			}
			httpPush(t, s.http, "/goim/push/keys", url.Values{"operation": {"1000"}, "keys": {"re-" + tr.name}}, "after-restart")
			b.expect(t, 1000, "after-restart")
			// The replayed join may still be in flight just after
			// Connected: poll until the room push lands.
			deadline := time.Now().Add(10 * time.Second)
			for {
				httpPush(t, s.http, "/goim/push/room", url.Values{"operation": {"1001"}, "type": {"chat"}, "room": {"re-" + tr.name}}, "room-after-restart")
				found := false
				b.mu.Lock()
				for _, m := range b.msgs {
					found = found || string(m.Body) == "room-after-restart"
				}
				b.mu.Unlock()
				if found {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("joined room not applied again after the reconnect")
				}
				time.Sleep(200 * time.Millisecond)
			}
			closeClient(t, c)
		})
	}
}

func TestRefusedTokenDoesNotLoop(t *testing.T) {
	s := startStandalone(t)
	for _, tt := range []struct {
		name      string
		addr      string
		refuseAt  int
		wantDials int
	}{
		// Each refusal is followed by one probe connection (refusal.go).
		{"tcp default", s.tcp, 0, 2 * DefaultAuthRefusedAfter},
		{"tcp first", s.tcp, 1, 2},
		{"ws default", s.wsURL(), 0, 2 * DefaultAuthRefusedAfter},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &countingDialer{}
			b := newInbox()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// Mode json refuses a mid that is not a number.
			c, err := Dial(ctx, Options{
				Addrs:            []string{tt.addr},
				Token:            []byte(`{"mid":"not-a-number"}`),
				Backoff:          fastBackoff,
				AuthRefusedAfter: tt.refuseAt,
				DialContext:      d.dial,
				OnState:          b.onState,
			})
			if !errors.Is(err, ErrAuthRefused) || c != nil {
				t.Fatalf("Dial: %v, want ErrAuthRefused", err)
			}
			checkNoGoroutines(t)
			// Nothing dials after the refusal.
			time.Sleep(2 * time.Second)
			if n := d.count(); n != tt.wantDials {
				t.Fatalf("%d dials, want %d", n, tt.wantDials)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if last := b.events[len(b.events)-1]; last.State != Stopped || !errors.Is(last.Err, ErrAuthRefused) {
				t.Fatalf("last event %+v, want Stopped with ErrAuthRefused", last)
			}
		})
	}
}

func TestRefusalAfterConnectedStops(t *testing.T) {
	// A client that was connected and whose token is refused on
	// reconnect (here: its server restarted in a mode that refuses it)
	// stops with ErrAuthRefused instead of looping.
	s := startStandalone(t)
	d := &countingDialer{}
	tok := []byte(`{"mid":7,"key":"stop-me","room_id":"","accepts":[1000]}`)
	c, b := dialInbox(t, Options{Addrs: []string{s.tcp}, Token: tok, Backoff: fastBackoff, DialContext: d.dial,
		TokenFunc: func(context.Context) ([]byte, error) {
			if d.count() > 0 {
				return []byte(`{"mid":"refused"}`), nil
			}
			return tok, nil
		}})
	s.restart(t)
	select {
	case <-c.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("client still running after refusals; events %v", b.events)
	}
	if !errors.Is(c.Err(), ErrAuthRefused) {
		t.Fatalf("Err %v, want ErrAuthRefused", c.Err())
	}
	checkNoGoroutines(t)
	n := d.count()
	time.Sleep(time.Second)
	if d.count() != n {
		t.Fatal("dials after the client stopped")
	}
}

func TestFallsBackToNextAddress(t *testing.T) {
	s := startStandalone(t)
	dead := loopback(t) // nothing listens there
	c, b := dialInbox(t, Options{
		Addrs: []string{dead, s.tcp},
		Token: JSONToken{Mid: 9, Key: "fallback", Accepts: []int32{1000}}.Bytes(),
	})
	if c.Addr() != s.tcp {
		t.Fatalf("connected to %q, want %q", c.Addr(), s.tcp)
	}
	httpPush(t, s.http, "/goim/push/keys", url.Values{"operation": {"1000"}, "keys": {"fallback"}}, "hi")
	b.expect(t, 1000, "hi")
	closeClient(t, c)
}
