package client

import (
	"context"
	"errors"
	"net"
	"time"
)

// probeWindow is how long a probe connection must stay open for the
// server to count as accepting connections. An edge that refuses
// connections (draining, full, over its accept rate) closes a TCP
// connection at once without reading it, and answers a WebSocket upgrade
// 503; one that accepts waits up to its handshake timeout (5 s) for the
// token.
const probeWindow = 500 * time.Millisecond

// tokenRefused decides what a close before the auth reply from addr
// meant. Over TCP the edge closes in the same way when it refuses our
// token and when it refuses every new connection (it drains, it is
// full), so the client asks: it opens a second connection that sends
// nothing. If that one stays open, the server accepts connections and
// the close was about our token (or logic being unreachable, which the
// AuthRefusedAfter count absorbs); if it is closed or refused at once,
// the edge refuses everyone and the client just backs off.
func (c *Client) tokenRefused(addr string) bool {
	ctx, cancel := context.WithTimeout(c.ctx, c.o.DialTimeout)
	defer cancel()
	cn, err := dialConn(ctx, &c.o, addr)
	if err != nil {
		return false
	}
	unhook := context.AfterFunc(ctx, func() { _ = cn.close() })
	defer unhook()
	defer cn.close()
	_, err = cn.read(time.Now().Add(probeWindow))
	var ne net.Error
	return err != nil && errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil
}
