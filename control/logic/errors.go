package logic

import (
	"errors"
	"fmt"
)

// ErrInvalid marks a request the caller got wrong (goim code -400); every
// other error is the server's fault (-500). Errors wrap it with a message
// that says what is wrong.
var ErrInvalid = errors.New("invalid request")

// ErrBusy marks work refused because this instance already does as much
// of it as it is configured to (Receive beyond receive.parallel): the
// caller may retry later or elsewhere. It is a server-side refusal (-500).
var ErrBusy = errors.New("busy")

// ErrRestoring marks a push by key or mid refused because some of its
// targets have no route while edges are restoring the routes a store loss
// erased (Config.RestoreWindow): answering code 0 would promise a
// delivery that cannot happen, so the caller gets -500 and retries.
// Nothing of the refused push was queued.
var ErrRestoring = errors.New("routes are being restored after the route store lost its data; retry")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Codes of goim's HTTP envelope and of push.PushError.
const (
	CodeOK         int32 = 0
	CodeBadRequest int32 = -400
	CodeServer     int32 = -500
)

// Code is the goim code for err: 0, -400 or -500.
func Code(err error) int32 {
	switch {
	case err == nil:
		return CodeOK
	case errors.Is(err, ErrInvalid):
		return CodeBadRequest
	default:
		return CodeServer
	}
}
