package edge

import (
	"net"
	"net/netip"

	"golang.org/x/time/rate"
)

// Connection admission: a new connection takes a slot against
// MaxConnections, one against MaxConnsPerIP (unless its address is
// exempt) and a token of the edge-wide accept rate, all before a byte of
// it is read. Refusals are counted in refusedTotal by reason
// (max_connections, per_ip, accept_rate).

// admission is the state those checks share.
type admission struct {
	perIP  *ipCounter // open connections per client IP (exempt ones not counted)
	exempt []netip.Prefix
	accept *rate.Limiter // nil: no accept-rate limit
}

func newAdmission(cfg Config) *admission {
	a := &admission{perIP: newIPCounter(cfg.Buckets)}
	for _, p := range cfg.ConnLimitExempt {
		if pfx, err := netip.ParsePrefix(p); err == nil { // Validate reported bad ones
			a.exempt = append(a.exempt, pfx.Masked())
		}
	}
	if cfg.AcceptRate > 0 {
		a.accept = rate.NewLimiter(rate.Limit(cfg.AcceptRate), cfg.AcceptBurst)
	}
	return a
}

// hostOf is addr ("ip:port") without the port.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// capped reports whether ip counts against MaxConnsPerIP.
func (a *admission) capped(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return true
	}
	addr = addr.Unmap()
	for _, p := range a.exempt {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// reserveConn takes a connection slot for a new connection of transport
// kind from remote address addr; false, counted, when a limit refuses it.
// releaseConn (from session.close) gives the slots back.
func (s *Server) reserveConn(kind, addr string) bool {
	n := s.open.Add(1)
	if max := s.cfg.MaxConnections; max > 0 && n > int64(max) {
		s.open.Add(-1)
		refusedTotal.WithLabelValues(kind, "max_connections").Inc()
		return false
	}
	// The per-IP cap first: a host over its cap must not spend the
	// accept budget every other device shares.
	a := s.admit
	ip := ""
	if max := s.cfg.MaxConnsPerIP; max > 0 {
		if h := hostOf(addr); a.capped(h) {
			if !a.perIP.addBelow(h, int32(max)) {
				s.open.Add(-1)
				refusedTotal.WithLabelValues(kind, "per_ip").Inc()
				return false
			}
			ip = h
		}
	}
	if a.accept != nil && !a.accept.Allow() {
		s.open.Add(-1)
		if ip != "" {
			a.perIP.remove(ip)
		}
		refusedTotal.WithLabelValues(kind, "accept_rate").Inc()
		return false
	}
	return true
}

// releaseConn gives back what reserveConn took for addr.
func (s *Server) releaseConn(addr string) {
	s.open.Add(-1)
	if s.cfg.MaxConnsPerIP > 0 {
		if ip := hostOf(addr); s.admit.capped(ip) {
			s.admit.perIP.remove(ip)
		}
	}
}

// full reports whether MaxConnections are open, so a WebSocket upgrade
// can be refused cheaply; reserveConn still decides.
func (s *Server) full() bool {
	max := s.cfg.MaxConnections
	return max > 0 && s.open.Load() >= int64(max)
}

// wouldRefuse reports, without taking anything, whether reserveConn would
// refuse a connection from addr now: the WebSocket upgrade answers those
// with a plain 503. reserveConn itself runs once the upgrade is done
// (a slot taken before it would leak when Hertz never runs the upgraded
// connection's handler, as when writing the 101 fails).
func (s *Server) wouldRefuse(kind, addr string) bool {
	reason := ""
	switch a := s.admit; {
	case s.full():
		reason = "max_connections"
	case s.cfg.MaxConnsPerIP > 0 && a.capped(hostOf(addr)) && a.perIP.count(hostOf(addr)) >= int32(s.cfg.MaxConnsPerIP):
		reason = "per_ip"
	case a.accept != nil && a.accept.Tokens() < 1:
		reason = "accept_rate"
	default:
		return false
	}
	refusedTotal.WithLabelValues(kind, reason).Inc()
	return true
}
