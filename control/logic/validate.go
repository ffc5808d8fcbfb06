package logic

import (
	"github.com/goim-edge/goim-edge/protocol"
)

// A push is checked completely before anything is queued: a caller's
// mistake is answered with -400 and never reaches job or an edge, where
// it would be refused again after the caller had been told code 0.

// maxKeyLen is protocol.MaxKey: a longer key in a push is a mistake.
const maxKeyLen = protocol.MaxKey

// Limits are the bounds every push is checked against, the same for the
// HTTP API and the Kitex Push service.
type Limits struct {
	// MaxBodyBytes is the largest message body.
	MaxBodyBytes int
	// MaxTargets is how many keys, or mids, one push may name.
	MaxTargets int
}

// Limits returns the push limits of l's configuration; the HTTP API sizes
// its server's request limit from them.
func (l *Logic) Limits() Limits {
	return Limits{MaxBodyBytes: l.cfg.MaxBodyBytes, MaxTargets: l.cfg.MaxTargets}
}

// checkOp refuses an op a device would read as a protocol step rather
// than a message (protocol.Pushable): op 9 would be taken for a batch of
// frames, op 8 for an auth reply.
func checkOp(op int32) error {
	if !protocol.Pushable(op) {
		return invalidf("operation %d is reserved by the protocol (0-17 and 22-30 cannot be pushed; business ops are 1000 and up)", op)
	}
	return nil
}

// checkBody refuses an empty body (as goim) and one over the limit.
func (l *Logic) checkBody(body []byte) error {
	switch {
	case len(body) == 0:
		return invalidf("message body is empty")
	case len(body) > l.cfg.MaxBodyBytes:
		return invalidf("message body of %d bytes is over the %d byte limit", len(body), l.cfg.MaxBodyBytes)
	}
	return nil
}

// checkTargets refuses a push naming more than max_targets keys or mids
// (counted as given, before duplicates are dropped).
func (l *Logic) checkTargets(what string, n int) error {
	if n > l.cfg.MaxTargets {
		return invalidf("%d %s is over the limit of %d per push", n, what, l.cfg.MaxTargets)
	}
	return nil
}

// checkKeys refuses a key longer than any device key can be.
func checkKeys(keys []string) error {
	for _, k := range keys {
		if len(k) > maxKeyLen {
			return invalidf("key %.32q… is longer than %d bytes", k, maxKeyLen)
		}
	}
	return nil
}
