package logic

import (
	"errors"
	"fmt"
	"strings"
)

// refusedMarker is in the text of every refused-Connect error. Over Kitex
// a handler error reaches the client only as text (a BizStatusError would
// need TTHeader on both sides, and without it the client sees a nil
// response and a nil error), so the edge recognises a refusal by it.
const refusedMarker = "auth refused"

// errRefused marks a Connect that authentication refused.
var errRefused = errors.New("logic: " + refusedMarker)

func refused(err error) error { return fmt.Errorf("%w: %w", errRefused, err) }

// IsRefused reports whether err, as returned by Connect locally or through
// a Kitex client, is an authentication refusal rather than an outage: an
// edge closes the connection either way, but only retries another logic
// instance on an outage.
func IsRefused(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, errRefused) || strings.Contains(err.Error(), refusedMarker)
}
