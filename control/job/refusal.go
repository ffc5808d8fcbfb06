package job

import (
	"errors"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
)

// refusal is the edge's EdgeError when err is one: the edge answered and
// refused the message itself (a reserved op, a malformed request). Such a
// message is poison: it would be refused again on every retry and by every
// edge, and it says nothing about the edge's health, so it is neither
// retried nor counted by the breaker. Anything else (transport failures,
// timeouts, an edge error of another type) is the edge's or the network's
// fault and is retried and counted.
func refusal(err error) *edge.EdgeError {
	var ee *edge.EdgeError
	if errors.As(err, &ee) && ee != nil {
		return ee
	}
	return nil
}
