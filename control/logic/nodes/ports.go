package nodes

import (
	"net"
	"strconv"

	"github.com/goim-edge/goim-edge/registry"
)

// ports are the tcp, ws and wss ports of a node list. goim's answer has
// one port per transport for all its nodes, so they are cfg's unless
// every offered edge publishes the same public port for a transport (its
// load balancer maps the port, edge.public_*_port). wss is 0 when edges
// are offered and none of them serves WSS (no wss_addr, no public WSS),
// so clients do not try a port nobody listens on. With no edge offered
// (the answer is cfg.Domain) the configured ports stand.
func ports(offered []registry.Instance, cfg Config) (tcp, ws, wss int) {
	tcp = agreedPublicPort(offered, func(a registry.Addrs) string { return a.TCP }, cfg.TCPPort)
	ws = agreedPublicPort(offered, func(a registry.Addrs) string { return a.WS }, cfg.WSPort)
	wss = agreedPublicPort(offered, func(a registry.Addrs) string { return a.WSS }, cfg.WSSPort)
	if len(offered) > 0 {
		served := false
		for _, inst := range offered {
			served = served || inst.Addrs.WSS != "" || inst.Public.WSS != ""
		}
		if !served {
			wss = 0
		}
	}
	return tcp, ws, wss
}

// agreedPublicPort is the port of every offered edge's public address
// for one transport when they all have one and agree, else def.
func agreedPublicPort(offered []registry.Instance, addr func(registry.Addrs) string, def int) int {
	agreed := 0
	for _, inst := range offered {
		_, p, err := net.SplitHostPort(addr(inst.Public))
		if err != nil {
			return def
		}
		port, err := strconv.Atoi(p)
		if err != nil || (agreed != 0 && port != agreed) {
			return def
		}
		agreed = port
	}
	if agreed == 0 {
		return def
	}
	return agreed
}
