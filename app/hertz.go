package app

import (
	"log/slog"
	"net"

	"github.com/cloudwego/hertz/pkg/app/server"

	"github.com/goim-edge/goim-edge/internal/serving"
)

// runHertz serves hz (built WithListener(ln)) and returns once it answers
// requests (serving.StartHertz says why that matters); a server that
// stops with an error is logged.
func runHertz(hz *server.Hertz, ln net.Listener, log *slog.Logger, what string) (*serving.Hertz, error) {
	addr := ln.Addr().String()
	return serving.StartHertz(hz, ln, false, what, func(err error) {
		log.Error(what+": server stopped", "addr", addr, "err", err)
	})
}
