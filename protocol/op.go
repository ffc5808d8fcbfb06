package protocol

// Operation codes. 0–17 keep goim v2's meaning byte for byte; 22–25 are
// goim-edge's multi-room extension and 26–30 its recovery extension
// (18–21 are left to a goim fork that uses them for sync and ack).
// Business pushes use ops >= 1000.
const (
	OpHandshake      int32 = 0
	OpHandshakeReply int32 = 1

	OpHeartbeat      int32 = 2
	OpHeartbeatReply int32 = 3

	OpSendMsg      int32 = 4
	OpSendMsgReply int32 = 5

	OpDisconnectReply int32 = 6

	OpAuth      int32 = 7
	OpAuthReply int32 = 8

	// OpRaw carries whole frames concatenated in its body (batched pushes).
	OpRaw int32 = 9

	// OpProtoReady and OpProtoFinish are goim-internal signals, never on the wire.
	OpProtoReady  int32 = 10
	OpProtoFinish int32 = 11

	OpChangeRoom      int32 = 12
	OpChangeRoomReply int32 = 13

	OpSub      int32 = 14
	OpSubReply int32 = 15

	OpUnsub      int32 = 16
	OpUnsubReply int32 = 17

	// OpJoinRoom adds one room (body = room id) without leaving the others.
	OpJoinRoom      int32 = 22
	OpJoinRoomReply int32 = 23

	// OpLeaveRoom leaves one room (body = room id).
	OpLeaveRoom      int32 = 24
	OpLeaveRoomReply int32 = 25

	// OpResume opts a connection into positioned pushes and recovers the
	// streams its JSON body names (ResumeRequest); the only frame a
	// client may send before OpAuth, once (docs/recovery.md).
	OpResume int32 = 26
	// OpResumeReply follows the recovered messages: a JSON ResumeReply.
	OpResumeReply int32 = 27
	// OpPositioned is a push with its place in a stream (Positioned).
	OpPositioned int32 = 28
	// OpAck acknowledges the connection's user stream up to a position
	// (JSON Ack); answered by OpAckReply with an empty body.
	OpAck      int32 = 29
	OpAckReply int32 = 30
)

// PushVer is the Ver of every frame the server originates.
const PushVer int16 = 1
