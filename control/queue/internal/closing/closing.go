// Package closing ties the Runs of a queue consumer to its Close: Close
// ends every Run in progress, and a Run after Close is refused.
package closing

import (
	"context"

	"github.com/goim-edge/goim-edge/control/queue"
)

// Context returns a copy of ctx that is also cancelled once closed is
// closed, or queue.ErrClosed when it is closed already. The caller must
// call cancel when its Run returns; that also ends the watch.
func Context(ctx context.Context, closed <-chan struct{}) (context.Context, context.CancelFunc, error) {
	select {
	case <-closed:
		return nil, nil, queue.ErrClosed
	default:
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel, nil
}
