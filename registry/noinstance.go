package registry

import (
	"errors"
	"fmt"

	"github.com/cloudwego/kitex/pkg/kerrors"
)

// ErrNoInstance matches (errors.Is) the errors NoInstance returns: the
// service discovery of a Kitex client listed no instance to call.
var ErrNoInstance = errors.New("registry: no instance available")

// NoInstanceError is a Kitex call that found no instance of its service.
// It unwraps to the Kitex error, so errors.Is(err,
// kerrors.ErrNoMoreInstance) and errors.As(err, **kerrors.DetailedError)
// still hold.
type NoInstanceError struct {
	// What names the service in the message: "logic", "edge".
	What string
	// Err is the Kitex error.
	Err error
}

func (e *NoInstanceError) Error() string {
	return fmt.Sprintf("no %s instance available (kitex: %s)", e.What, kerrors.ErrNoMoreInstance.Error())
}

// Unwrap returns the Kitex error.
func (e *NoInstanceError) Unwrap() error { return e.Err }

// Is makes the error match ErrNoInstance.
func (e *NoInstanceError) Is(target error) bool { return target == ErrNoInstance }

// NoInstance makes a failed Kitex call readable. When discovery lists no
// instance at all, Kitex reports "no more instances to retry: last error:
// %!w(<nil>)" (it wraps its still-nil last error with %w); NoInstance
// turns that into a *NoInstanceError, "no <what> instance available
// (kitex: no more instances to retry)". Any other error, including
// ErrNoMoreInstance after real attempts failed (its last error is kept),
// and nil are returned unchanged.
func NoInstance(err error, what string) error {
	var de *kerrors.DetailedError
	if errors.As(err, &de) && de.ErrorType() == kerrors.ErrNoMoreInstance && errors.Unwrap(de.Unwrap()) == nil {
		return &NoInstanceError{What: what, Err: err}
	}
	return err
}
