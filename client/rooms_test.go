package client

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestRoomGrantsRefusal runs logic in jwt mode: a room outside the
// token's grants is refused (the server's empty-body reply), and the
// connection keeps its rooms.
func TestRoomGrantsRefusal(t *testing.T) {
	secret := "client-test-jwt-secret-0123456789abcdef"
	keyFile := filepath.Join(t.TempDir(), "jwt.key")
	if err := os.WriteFile(keyFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startStandalone(t, "-set", "auth.mode=jwt", "-set", "auth.jwt.alg=HS256", "-set", "auth.jwt.key_file="+keyFile)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "77", "exp": time.Now().Add(time.Hour).Unix(), "key": "granted",
		"rooms": []string{"live://1"}, "room_grants": []string{"chat://*"}, "accepts": []int{1000},
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range transports(s) {
		t.Run(tr.name, func(t *testing.T) {
			c, b := dialInbox(t, Options{Addrs: []string{tr.addr}, Token: []byte(tok)})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.JoinRoom(ctx, "chat://ok"); err != nil {
				t.Fatalf("granted join: %v", err)
			}
			if err := c.JoinRoom(ctx, "secret://x"); !errors.Is(err, ErrRoomRefused) {
				t.Fatalf("join outside the grants: %v, want ErrRoomRefused", err)
			}
			if err := c.ChangeRoom(ctx, "secret://x"); !errors.Is(err, ErrRoomRefused) {
				t.Fatalf("change outside the grants: %v, want ErrRoomRefused", err)
			}
			// Still in both rooms, still connected.
			httpPush(t, s.http, "/goim/push/room", url.Values{"operation": {"1000"}, "type": {"live"}, "room": {"1"}}, "live-"+tr.name)
			b.expect(t, 1000, "live-"+tr.name)
			httpPush(t, s.http, "/goim/push/room", url.Values{"operation": {"1000"}, "type": {"chat"}, "room": {"ok"}}, "chat-"+tr.name)
			b.expect(t, 1000, "chat-"+tr.name)
			closeClient(t, c)
		})
	}
}

// TestReadTimeoutNoticesDeadServer freezes the server (SIGSTOP): the
// connection stays open but nothing arrives, and the client gives it up
// after ReadTimeout and reconnects once the server runs again.
func TestReadTimeoutNoticesDeadServer(t *testing.T) {
	s := startStandalone(t)
	c, b := dialInbox(t, Options{
		Addrs:       []string{s.tcp},
		Token:       JSONToken{Mid: 11, Key: "frozen", Accepts: []int32{1000}}.Bytes(),
		Heartbeat:   300 * time.Millisecond,
		ReadTimeout: time.Second,
		DialTimeout: time.Second,
		Backoff:     fastBackoff,
	})
	if err := s.srv.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	cont := func() { _ = s.srv.Signal(syscall.SIGCONT) }
	defer cont()
	b.waitFor(t, 20*time.Second, "disconnect on read timeout", func(_ []Message, events []Event) bool {
		for _, e := range events {
			if e.State == Disconnected {
				if !strings.Contains(e.Err.Error(), "timeout") {
					t.Fatalf("disconnected with %v, want a read timeout", e.Err)
				}
				return true
			}
		}
		return false
	})
	cont()
	b.waitConnected(t, 2)
	httpPush(t, s.http, "/goim/push/keys", url.Values{"operation": {"1000"}, "keys": {"frozen"}}, "thawed")
	b.expect(t, 1000, "thawed")
	closeClient(t, c)
}
