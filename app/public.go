package app

import (
	"net"
	"strconv"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/registry"
)

// publicAddrs are the device addresses an edge publishes beside the ones
// the cluster dials (adv), from edge.public_host and edge.public_*_port;
// zero when none of them is set, so an edge without them publishes what
// it always did. A transport the edge does not serve gets no public
// address, except WSS with public_wss_port (TLS ended at a load
// balancer in front of the plain WebSocket port).
func publicAddrs(e config.EdgeConfig, adv registry.Addrs) registry.Addrs {
	if e.PublicHost == "" && e.PublicTCPPort == 0 && e.PublicWSPort == 0 && e.PublicWSSPort == 0 {
		return registry.Addrs{}
	}
	pick := func(advertised string, port int) string {
		host, bound, err := net.SplitHostPort(advertised)
		if err != nil {
			return ""
		}
		if e.PublicHost != "" {
			host = e.PublicHost
		}
		if port != 0 {
			bound = strconv.Itoa(port)
		}
		return net.JoinHostPort(host, bound)
	}
	pub := registry.Addrs{TCP: pick(adv.TCP, e.PublicTCPPort), WS: pick(adv.WS, e.PublicWSPort), WSS: pick(adv.WSS, e.PublicWSSPort)}
	if pub.WSS == "" && e.PublicWSSPort != 0 {
		// No WSS listener: the host is the one the other transports use.
		for _, a := range []string{pub.WS, pub.TCP} {
			if host, _, err := net.SplitHostPort(a); err == nil {
				pub.WSS = net.JoinHostPort(host, strconv.Itoa(e.PublicWSSPort))
				break
			}
		}
	}
	return pub
}
