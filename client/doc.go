// Package client is the Go SDK for goim-edge (and any goim v2 server): one
// device connection over TCP or WebSocket (ws, wss) that authenticates
// with a token, heartbeats, reconnects with capped exponential backoff and
// full jitter, and hands every pushed message to a callback.
//
//	c, err := client.Dial(ctx, client.Options{
//		Addrs:     []string{"127.0.0.1:3101"},
//		Token:     client.JSONToken{Mid: 123, RoomID: "live://1000", Accepts: []int32{1000}}.Bytes(),
//		OnMessage: func(m client.Message) { fmt.Println(m.Op, string(m.Body)) },
//	})
//
// # Guarantees
//
//   - Ordering: messages (OnMessage) and state events (OnState) are
//     delivered one at a time, on one goroutine, in the order the
//     connection read them; the inner frames of an op-9 batch in batch
//     order. A Connected event precedes the messages of that connection
//     and its Disconnected event follows them.
//   - Nothing is dropped by the SDK: when the callbacks fall behind, the
//     SDK stops reading (the server's bounded send queue then decides),
//     after Options.MessageBuffer messages are waiting.
//   - Messages pushed while the client is disconnected (between a
//     Disconnected and the next Connected event) are missed, unless
//     Options.Recovery is set and the server keeps history for the
//     target (see Recovery below); without it an application that must
//     not miss anything re-reads its state from its backend on Connected.
//   - Rooms and subscriptions changed with ChangeRoom, JoinRoom,
//     LeaveRoom, Sub and Unsub are applied again, compacted and in order,
//     right after every reconnect (just after Connected is reported); the
//     token's own rooms and accepts apply first, as on the first
//     connection.
//   - A request (Send, ChangeRoom, ...) made while disconnected fails at
//     once with ErrNotConnected; one whose connection ends before the reply
//     fails with ErrDisconnected (the server may or may not have acted).
//     A request the server drops without reply (its upstream rate limit)
//     fails when its context or Options.RequestTimeout ends.
//   - Close stops every goroutine the client started (reader, heartbeat,
//     dispatcher, reconnect loop) and closes the connection. It waits for
//     the callbacks, so a callback that calls Close must not wait for it
//     (call it with an expired context, or from another goroutine); a
//     callback that makes a request should bound it with a context, as
//     the reader waits for the callbacks once MessageBuffer items queue.
//
// # Recovery
//
// With Options.Recovery (goim-edge's recovery extension,
// docs/recovery.md) every connection starts with op 26, sent right
// before the auth frame, naming each stream the client holds a position
// for: those of RecoveryOptions.Positions (a previous run's Positions)
// and of every positioned push received since, plus RecoveryOptions.Streams
// without a position. The server sends what was missed, oldest first per
// stream, then its verdicts — an Event with State Resumed and Verdicts,
// in order with the messages — then live pushes. Positioned pushes reach
// OnMessage as ordinary messages with Stream, Epoch and Offset set; one
// at or before the last offset delivered in its epoch is a duplicate
// (a live push recovered again) and is dropped, counted in
// Stats().Duplicates. Rooms joined with JoinRoom or ChangeRoom are not
// followed at auth: their streams are resumed right after each join
// (also the joins replayed after a reconnect); a room left is
// forgotten. With AutoAck the client acknowledges its user stream (op
// 29) up to the last message whose OnMessage call returned; Ack does it
// by hand.
//
// # Reconnect policy
//
// After a connection ends the client waits a random delay drawn uniformly
// between Backoff.Min and min(Backoff.Max, Backoff.Initial × Factor^n),
// n being the failures since the last connection that lasted
// Backoff.ResetAfter ("full jitter"), then tries the addresses in order:
// a fresh node list from Options.NodesURL when set (logic's
// /goim/nodes/weighted, which never offers a draining edge), else
// Options.Addrs. The jitter is what spreads the devices of an edge that
// died over the first seconds instead of all arriving at once on the
// remaining edges: with the defaults 1,000 devices schedule no more than
// about 6% of their first redials in any 100 ms window (see
// docs/clients.md).
//
// goim refuses a token by closing the connection without an auth reply.
// Over TCP an edge that refuses every new connection (draining, full)
// closes it the same way, so after such a close the client opens a probe
// connection that sends nothing: if the edge keeps it open it accepts
// connections and the close was about the token; if it closes it at
// once, the client only backs off (a rolling restart never stops
// clients). An edge also closes after the token when logic is briefly
// unreachable, so one close is still no proof: the client stops with
// ErrAuthRefused after Options.AuthRefusedAfter consecutive such closes
// (default 3, each after a backoff delay and, with a node list, possibly
// on different edges).
package client
