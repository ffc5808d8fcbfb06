package config

import (
	"fmt"
	"net"
	"strings"
)

// validatePublic checks the edge's public address settings: a bare host
// (no scheme, port or path; devices add the port) and ports in range.
func (e EdgeConfig) validatePublic() []error {
	var errs []error
	if h := e.PublicHost; h != "" {
		if strings.ContainsAny(h, "/ ") || (strings.Contains(h, ":") && net.ParseIP(h) == nil) {
			errs = append(errs, fmt.Errorf("edge.public_host %q: want a host name or IP, without scheme, port or path", h))
		}
	}
	for _, p := range []struct {
		key  string
		port int
	}{{"edge.public_tcp_port", e.PublicTCPPort}, {"edge.public_ws_port", e.PublicWSPort}, {"edge.public_wss_port", e.PublicWSSPort}} {
		if p.port < 0 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("%s %d: out of range 0-65535", p.key, p.port))
		}
	}
	return errs
}
