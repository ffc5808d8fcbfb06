package edge

import "unicode/utf8"

// WebSocket close codes (RFC 6455 section 7.4.1) the edge sends. Every
// server-side close of a WebSocket connection says why with one of
// these, so a browser sees a reason instead of 1006 (abnormal closure).
const (
	wsCloseNormal       = 1000
	wsCloseGoingAway    = 1001 // drain or shutdown: reconnect elsewhere
	wsCloseProtocol     = 1002 // RFC 6455 framing broken (unmasked, reserved bits or ops)
	wsCloseBadData      = 1007 // a text or close reason that is not UTF-8
	wsClosePolicy       = 1008 // goim protocol broken or limits passed
	wsCloseTooBig       = 1009 // a message over the goim frame limit
	wsCloseInternal     = 1011 // the edge cannot serve the device now
	wsCloseTryLater     = 1013 // the edge is full
	wsMaxCloseReasonLen = 123  // a control payload is 125 bytes, 2 of them the code
)

// wsCloseFor maps a session close reason (the closesTotal label) to the
// close code and text the device gets, in one place for both WebSocket
// transports. Code 0 sends no close frame: the connection is already
// gone, or a write to it failed.
func wsCloseFor(reason string) (code uint16, text string) {
	switch reason {
	case "drain", "shutdown":
		return wsCloseGoingAway, goAwayReason
	case "bad_frame", "not_auth", "unknown_op", "rate_limited", "input_overflow", "auth_failed", "kicked", "slow":
		return wsClosePolicy, reason
	case "handshake_timeout", "read_timeout":
		return wsClosePolicy, reason
	case "too_big":
		return wsCloseTooBig, reason
	case "protocol_error":
		return wsCloseProtocol, reason
	case "bad_utf8":
		return wsCloseBadData, reason
	case "auth_unavailable":
		return wsCloseInternal, reason
	case "heartbeat_timeout", "replaced":
		return wsCloseNormal, reason
	default: // peer, read_error, write_error, closed
		return 0, ""
	}
}

// wsCloseBody is a close frame's payload: the code and a reason cut to
// what a control frame holds, at a rune boundary so that it stays valid
// UTF-8 (invalid bytes are dropped: a client must fail a connection whose
// close reason is not UTF-8).
func wsCloseBody(code uint16, reason string) []byte {
	b := make([]byte, 2, 2+len(reason))
	b[0], b[1] = byte(code>>8), byte(code)
	for _, r := range reason {
		if r == utf8.RuneError {
			continue
		}
		if len(b)-2+utf8.RuneLen(r) > wsMaxCloseReasonLen {
			break
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

// wsCloseFramer is a transport that can send a close frame before it
// closes. Callers hold session.wmu; sendClose sends at most one close
// frame per connection and never blocks on a full socket.
type wsCloseFramer interface {
	sendClose(code uint16, reason string)
}

// closeTransport closes the session's connection, first telling a
// WebSocket device why. The close frame is skipped when a write is in
// progress (a device that stopped reading holds the write lock until
// WriteTimeout; close must not wait for it) or writes have ended.
func (s *session) closeTransport(reason string) {
	if f, ok := s.t.(wsCloseFramer); ok {
		if code, text := wsCloseFor(reason); code != 0 && s.wmu.TryLock() {
			if !s.wdone {
				f.sendClose(code, text)
			}
			s.wmu.Unlock()
		}
	}
	_ = s.t.close()
}
