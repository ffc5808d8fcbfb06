package serving

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/cloudwego/hertz/pkg/app/server"
)

// Hertz is a Hertz server running in the background on a listener bound
// beforehand (server.WithListener).
//
// Hertz's start has two windows a stop must not fall into: before its
// engine counts as running, Shutdown refuses ("engine is not running")
// and Run goes on serving forever; after that but before its event loop
// took the listener, Shutdown closes the listener and the loop's Serve
// fails — which Hertz's netpoll transport answers with a panic ("netpoll
// server exit") that ends the process. StartHertz returns only once the
// server answered on its address, when neither window is open.
type Hertz struct {
	hz   *server.Hertz
	addr string
	done chan struct{} // closed when Run returns
}

// StartHertz runs hz (built WithListener(ln)) and returns once it
// answers: a plain HTTP request, or a TLS handshake when useTLS. onErr
// gets what Run returns, when it ends with an error.
func StartHertz(hz *server.Hertz, ln net.Listener, useTLS bool, what string, onErr func(error)) (*Hertz, error) {
	s := &Hertz{hz: hz, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := hz.Run(); err != nil && onErr != nil {
			onErr(err)
		}
	}()
	deadline := time.Now().Add(ReadyTimeout)
	for {
		for _, a := range DialAddrs(ln.Addr()) {
			if answers(a, useTLS) {
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
			_ = s.Stop(ctx)
			cancel()
			return nil, fmt.Errorf("%s: server on %s did not answer within %v", what, s.addr, ReadyTimeout)
		}
	}
}

// Stop shuts the server down, letting in-flight requests finish within
// ctx (and the server's exit wait time), and waits for Run to return.
func (s *Hertz) Stop(ctx context.Context) error {
	err := s.hz.Shutdown(ctx)
	select {
	case <-s.done:
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("server on %s: %w", s.addr, ctx.Err()))
	}
	return err
}

// Done is closed once the server's Run has returned.
func (s *Hertz) Done() <-chan struct{} { return s.done }

// answers reports whether a server at addr answers: any byte back to a
// HEAD request, or a completed TLS handshake.
func answers(addr string, useTLS bool) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if useTLS {
		// Whoever is probed, the handshake only proves the accept loop
		// runs: the certificate is not what is checked here.
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // readiness probe of our own port
		return tc.Handshake() == nil
	}
	if _, err := c.Write([]byte("HEAD /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")); err != nil {
		return false
	}
	var b [1]byte
	n, _ := c.Read(b[:])
	return n == 1
}

// DialAddrs are where this host reaches a bound address: loopback when it
// was bound on every interface, IPv4 first (a "[::]" listener takes IPv4
// too, and some hosts have no ::1).
func DialAddrs(a net.Addr) []string {
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

// Engine is the Hertz server being run (its routes, for tests and docs).
func (s *Hertz) Engine() *server.Hertz { return s.hz }
