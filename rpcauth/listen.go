package rpcauth

import "net"

// ListenAddr is where a Kitex server configured to listen on addr may
// bind: addr itself when the configuration requires a secret, or when
// addr is already a loopback one; else the same port on 127.0.0.1, and
// loopback is true. Without a secret anyone who reaches the port could
// push to every device, kick or drain them: the port must not be reachable
// from other hosts.
func ListenAddr(addr string, cfg Config) (bind string, loopback bool) {
	if cfg.Required() {
		return addr, false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, false // the listener reports the bad address
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return addr, true
	}
	return net.JoinHostPort("127.0.0.1", port), true
}
