package client

import "errors"

// Errors the client returns or reports in events; test with errors.Is.
var (
	// ErrAuthRefused: the server closed the connection before the auth
	// reply Options.AuthRefusedAfter times in a row (goim refuses a token
	// that way). The client stops; Err and Dial return it.
	ErrAuthRefused = errors.New("client: auth refused (connection closed before the auth reply)")
	// ErrClosed: Close was called.
	ErrClosed = errors.New("client: closed")
	// ErrNotConnected: a request was made while the client had no
	// connection (it is reconnecting).
	ErrNotConnected = errors.New("client: not connected")
	// ErrDisconnected: the connection ended before the request's reply.
	ErrDisconnected = errors.New("client: disconnected before the reply")
	// ErrRoomRefused: the server answered a room change or join with an
	// empty body (room outside the token's grants, max_rooms reached, bad
	// room id); the connection's rooms are as they were.
	ErrRoomRefused = errors.New("client: room refused")
	// ErrGoingAway: the edge is draining (WebSocket close code 1001) and
	// asked the device to reconnect elsewhere.
	ErrGoingAway = errors.New("client: edge going away (draining)")
	// ErrNoAddress: neither the node list nor Options.Addrs gave an
	// address to dial.
	ErrNoAddress = errors.New("client: no address to dial")

	// errClosedBeforeAuth: the server ended the connection after we sent
	// the token and before it replied: a refusal, or a logic outage, or a
	// drain that began meanwhile (see AuthRefusedAfter).
	errClosedBeforeAuth = errors.New("client: connection closed before the auth reply")
)
