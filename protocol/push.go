package protocol

// Limits on what a push may carry, shared by logic (which refuses a bad
// push before it is queued) and the edge (which refuses it again, as a
// poison message, should one reach it by another path).

// MaxPushBody is the largest message body any push may carry, whatever
// logic's max_body_bytes says: logic refuses to start with a larger
// setting, and the edge refuses a larger body as the request's fault. It
// keeps one push (and a room batch of them) far below what a device
// connection and the RPC payload limits can take.
const MaxPushBody = 16 << 20

// MaxRoomID is the longest room id ("type://id") a device can be in: the
// edge refuses longer ones in tokens and in ops 12 and 22, so a push to a
// longer room could reach no one and is refused as a mistake.
const MaxRoomID = 256

// MaxKey is the longest device key a route can have: auth refuses longer
// ones in every mode, so a push naming a longer key is a mistake.
const MaxKey = 256

// Pushable reports whether a push may carry op. Ops 0–17 are goim's
// protocol (handshake, heartbeat, auth, raw batches, replies, internal
// signals), 22–25 goim-edge's room extension and 26–30 its recovery
// extension: a device reads a frame
// with one of them as that protocol step, not as a message, and op 9 in
// particular as a batch of frames. Ops 18–21 are left to the goim fork
// that gives them meaning; everything else (business ops, conventionally
// 1000 and up) is the caller's to use.
func Pushable(op int32) bool {
	switch {
	case op >= OpHandshake && op <= OpUnsubReply:
		return false
	case op >= OpJoinRoom && op <= OpAckReply:
		return false
	}
	return true
}
