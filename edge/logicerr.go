package edge

import (
	"errors"
	"fmt"

	"github.com/goim-edge/goim-edge/registry"
)

// logicError makes a failed call to logic readable in logs and close
// reasons: when discovery lists no logic instance, Kitex's "no more
// instances to retry: last error: %!w(<nil>)" becomes "edge: no logic
// instance available (kitex: no more instances to retry)"
// (registry.NoInstance; it still matches kerrors.ErrNoMoreInstance and
// *kerrors.DetailedError). Other errors pass through unchanged.
func logicError(err error) error {
	if ne := registry.NoInstance(err, "logic"); errors.Is(ne, registry.ErrNoInstance) {
		return fmt.Errorf("edge: %w", ne)
	}
	return err
}
