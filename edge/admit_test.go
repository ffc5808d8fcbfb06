package edge

import (
	"fmt"
	"testing"
)

func TestAdmissionExempt(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ConnLimitExempt = []string{"127.0.0.0/8", "::1/128", "10.1.0.0/16"}
	a := newAdmission(cfg)
	for ip, want := range map[string]bool{
		"127.0.0.1":        false,
		"127.9.9.9":        false,
		"::1":              false,
		"::ffff:127.0.0.1": false, // IPv4-mapped loopback
		"10.1.2.3":         false,
		"10.2.0.1":         true,
		"192.0.2.7":        true,
		"2001:db8::1":      true,
		"not an ip":        true,
	} {
		if got := a.capped(ip); got != want {
			t.Errorf("capped(%q) = %v, want %v", ip, got, want)
		}
	}
}

func TestHostOf(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:3101": "127.0.0.1",
		"[::1]:3101":     "::1",
		"pipe":           "pipe",
	} {
		if got := hostOf(addr); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestPerIPUnitCounts: reserve and release keep the per-IP count exact.
func TestPerIPUnitCounts(t *testing.T) {
	srv := newUnitServer(t, func(c *Config) { c.MaxConnsPerIP, c.ConnLimitExempt, c.AcceptRate = 2, nil, 0 })
	if !srv.reserveConn("tcp", "192.0.2.1:1") || !srv.reserveConn("tcp", "192.0.2.1:2") {
		t.Fatal("refused within the cap")
	}
	if srv.reserveConn("tcp", "192.0.2.1:3") {
		t.Fatal("took a third connection from one IP")
	}
	if !srv.reserveConn("tcp", "192.0.2.2:1") {
		t.Fatal("another IP was refused")
	}
	srv.releaseConn("192.0.2.1:1")
	if !srv.reserveConn("tcp", "192.0.2.1:4") {
		t.Fatal("a released slot was not taken again")
	}
	if n := srv.open.Load(); n != 3 {
		t.Fatalf("open = %d, want 3", n)
	}
}

// A host over its per-IP cap is refused before it can spend the accept
// budget that every other device shares.
func TestPerIPRefusalSpendsNoAcceptBudget(t *testing.T) {
	srv := newUnitServer(t, func(c *Config) {
		c.MaxConnsPerIP = 1
		c.ConnLimitExempt = nil
		c.AcceptRate, c.AcceptBurst = 0.001, 2
	})
	if !srv.reserveConn("tcp", "192.0.2.1:1") {
		t.Fatal("first connection refused")
	}
	for i := range 5 {
		if srv.reserveConn("tcp", fmt.Sprintf("192.0.2.1:%d", i+2)) {
			t.Fatal("a second connection from a capped host was taken")
		}
	}
	if !srv.reserveConn("tcp", "192.0.2.2:1") {
		t.Fatal("another host was refused: the capped host's refusals spent the accept budget")
	}
	if srv.reserveConn("tcp", "192.0.2.3:1") {
		t.Fatal("the accept burst of 2 let a third connection in")
	}
}
