package edge

import (
	"errors"
	"fmt"

	"github.com/cloudwego/kitex/pkg/kerrors"
)

// errNoLogic means service discovery had no logic instance to call; it
// still matches kerrors.ErrNoMoreInstance.
var errNoLogic = fmt.Errorf("edge: no logic instance available (kitex: %w)", kerrors.ErrNoMoreInstance)

// logicError makes a failed call to logic readable in logs and close
// reasons. When discovery lists no logic instance at all, Kitex reports
// "no more instances to retry: last error: %!w(<nil>)" (it wraps its
// still-nil last error with %w); that becomes errNoLogic. Other errors pass
// through unchanged.
func logicError(err error) error {
	var de *kerrors.DetailedError
	if errors.As(err, &de) && de.ErrorType() == kerrors.ErrNoMoreInstance && errors.Unwrap(de.Unwrap()) == nil {
		return errNoLogic
	}
	return err
}
