package app

import (
	"fmt"
	"log/slog"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/rpcauth"
)

// rpcListenAddr applies the RPC safety rule to one Kitex port, the rule
// httpListenAddr applies to the push API: without rpc.secret anyone who
// reaches the port could push to every device, kick or drain them, so it
// binds 127.0.0.1 only. The log says which, once per port.
func rpcListenAddr(cfg *config.Config, log *slog.Logger, role, addr string) string {
	bind, loopback := rpcauth.ListenAddr(addr, cfg.RPC)
	if !loopback {
		log.Info(fmt.Sprintf("rpc: %s port %s requires rpc.secret", role, bind),
			"previous_secrets", len(cfg.RPC.PreviousSecrets), "max_payload_bytes", cfg.RPC.MaxPayloadBytes)
		return bind
	}
	msg := fmt.Sprintf("rpc: no rpc.secret, binding %s only", bind)
	if bind != addr {
		msg += fmt.Sprintf("; set rpc.secret (%s) on every node to serve %s", config.EnvName("rpc.secret"), addr)
	}
	if cfg.Registry.Kind == "etcd" {
		msg += "; nodes on other hosts cannot call it"
	}
	log.Warn(msg, "role", role)
	return bind
}
