package edge

import (
	"errors"
	"io"
	"syscall"
	"time"
)

// A write that finds the peer gone (EPIPE, ECONNRESET) must not close the
// connection from the writing goroutine: the poller has the reset pending
// and closes the connection itself (TCP: OnDisconnect; WebSocket: the
// reader returns and Hertz closes it). Closing it here at the same time
// raced with the poller's close, and once the file descriptor was reused
// by the next accepted device, that device was now and then closed as
// "peer" before its auth reply (about 1 in a few thousand connections
// under RST churn, see TestChurnDuringRoomBroadcast). The session still
// closes at once; only the socket close is left to the poller, with a late
// Close as the safety net should the poller not report it (on a closed
// connection Close does nothing).

// peerGoneGrace is how long a reset connection is left to the poller.
const peerGoneGrace = 2 * time.Second

// isPeerGone reports whether a write error means the peer reset or closed
// the connection.
func isPeerGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// closeAfterGrace closes c once peerGoneGrace has passed.
func closeAfterGrace(c io.Closer) {
	time.AfterFunc(peerGoneGrace, func() { _ = c.Close() })
}
