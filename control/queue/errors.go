package queue

import "errors"

// ErrClosed is returned by Publish on a closed producer.
var ErrClosed = errors.New("queue: closed")
