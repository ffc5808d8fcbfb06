package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/cloudwego/hertz/pkg/app/server"
)

// hertzReadyTimeout bounds how long runHertz waits for a server to answer.
const hertzReadyTimeout = 5 * time.Second

// hertzServer is a Hertz server running on a listener bound beforehand.
type hertzServer struct {
	hz   *server.Hertz
	addr string
	done chan struct{} // closed when Run returns
}

// runHertz serves hz (built WithListener(ln)) and returns once it answers
// requests. Hertz's Shutdown only stops a server whose event loop already
// exists: called earlier it reports "engine is not running", or succeeds
// while Run goes on to serve forever. Waiting for a first answer here
// makes every later Shutdown effective.
func runHertz(hz *server.Hertz, ln net.Listener, log *slog.Logger, what string) (*hertzServer, error) {
	s := &hertzServer{hz: hz, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := hz.Run(); err != nil {
			log.Error(what+": server stopped", "addr", s.addr, "err", err)
		}
	}()
	deadline := time.Now().Add(hertzReadyTimeout)
	for {
		for _, a := range dialAddrs(ln.Addr()) {
			if answers(a) {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s: server on %s ended while starting", what, s.addr)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.stop(ctx)
			cancel()
			return nil, fmt.Errorf("%s: server on %s did not answer within %v", what, s.addr, hertzReadyTimeout)
		}
	}
}

// stop shuts the server down, letting in-flight requests finish within
// ctx (and the server's exit wait time), and waits for Run to return.
func (s *hertzServer) stop(ctx context.Context) error {
	err := s.hz.Shutdown(ctx)
	select {
	case <-s.done:
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("server on %s: %w", s.addr, ctx.Err()))
	}
	return err
}

// answers reports whether an HTTP server at addr replies to a request.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Write([]byte("HEAD /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")); err != nil {
		return false
	}
	var b [1]byte
	n, _ := c.Read(b[:])
	return n == 1
}

// dialAddrs are where this host reaches a bound address: loopback when it
// was bound on every interface, IPv4 first (a "[::]" listener takes IPv4
// too, and some hosts have no ::1).
func dialAddrs(a net.Addr) []string {
	ta, ok := a.(*net.TCPAddr)
	if !ok || !ta.IP.IsUnspecified() {
		return []string{a.String()}
	}
	v4 := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ta.Port}).String()
	if ta.IP.To4() != nil {
		return []string{v4}
	}
	return []string{v4, (&net.TCPAddr{IP: net.IPv6loopback, Port: ta.Port}).String()}
}
