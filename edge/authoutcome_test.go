package edge

import (
	"testing"

	"github.com/goim-edge/goim-edge/protocol"
)

// TestAuthRefusalAndOutageCountedApart: a token logic refuses (the IDL's
// AuthRefused) counts as "refused"; logic being unreachable counts as
// "error", so an outage never looks like a wave of bad tokens. Both close
// the connection, as goim does.
func TestAuthRefusalAndOutageCountedApart(t *testing.T) {
	c := newCluster(t, nil, nil)
	refused := func() float64 { return counterValue(t, authTotal.WithLabelValues("refused")) }
	outage := func() float64 { return counterValue(t, authTotal.WithLabelValues("error")) }
	r0, o0 := refused(), outage()

	bad := dialTCP(t, c.edge.Addrs().TCP)
	bad.send(protocol.OpAuth, 1, []byte(`{"mid":"not a number"}`))
	bad.expectClosed()
	if got := refused() - r0; got != 1 {
		t.Errorf("refused auths = %v after a bad token, want 1", got)
	}
	if got := outage() - o0; got != 0 {
		t.Errorf("auth errors = %v after a bad token, want 0", got)
	}

	c.stopLogic()
	good := dialTCP(t, c.edge.Addrs().TCP)
	good.send(protocol.OpAuth, 1, token(7, "k7", nil))
	good.expectClosed()
	if got := outage() - o0; got != 1 {
		t.Errorf("auth errors = %v with logic down, want 1", got)
	}
	if got := refused() - r0; got != 1 {
		t.Errorf("refused auths = %v with logic down, want still 1", got)
	}
}
