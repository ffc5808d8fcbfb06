package edge

import "errors"

// errFull is the refusal state of an edge with MaxConnections open.
var errFull = errors.New("edge: max_connections open, not taking connections")

// Refusing reports why the edge takes no new device connections, nil when
// it takes them: it is draining (Drain or Shutdown has begun; for good) or
// MaxConnections are open (until some close). Readiness reports it, so a
// load balancer stops sending devices to an edge that would refuse them.
// It reads two atomics: cheap enough for every /readyz request.
func (s *Server) Refusing() error {
	switch {
	case s.draining.Load():
		return errDraining
	case s.full():
		return errFull
	}
	return nil
}
