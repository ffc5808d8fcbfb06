// Edge service: what job (and operators) call on an edge node.
namespace go edge

include "common.thrift"

struct PushKeysReq {
    1: list<string> keys
    2: i32 op
    3: binary body
    4: string msg_id
    // positions: the message's place in the stream of each user of the
    // push with history on; a device that opted into recovery gets its
    // user's as an op-28 frame (docs/recovery.md).
    5: optional list<common.StreamPos> positions
}

struct PushKeysResp {
    1: i32 delivered   // connections the message was queued to
}

// RoomMsg is one message for a room; a PushRoomReq may carry a batch that
// job already coalesced.
struct RoomMsg {
    1: i32 op
    2: binary body
    3: string msg_id
    4: optional common.StreamPos position // in the room's stream, when it keeps history
}

struct PushRoomReq {
    1: string room            // full room id "type://id"
    2: list<RoomMsg> msgs
}

struct PushRoomResp {
    1: i32 members            // members of the room on this edge
}

struct BroadcastReq {
    1: i32 op
    2: binary body
    3: i32 speed              // connections per second on this edge, 0 = no limit
    4: string msg_id
}

struct BroadcastResp {
    1: i32 connections        // connections the broadcast will reach
}

struct RoomsReq {}

struct RoomsResp {
    1: map<string, i32> rooms // room id -> members on this edge
}

struct KickReq {
    1: list<string> keys
}

struct KickResp {
    1: i32 kicked
}

// DrainReq asks the edge to stop taking new connections and close the ones
// it holds at rate per second, so clients reconnect elsewhere.
struct DrainReq {
    1: i32 rate
}

struct DrainResp {
    1: i32 connections        // connections left to close
}

// EdgeError is a refusal that is the request's own fault (a poison
// message): retrying it cannot succeed and it says nothing about the
// edge's health, so job must not count it toward a breaker. Transport
// failures and timeouts are never EdgeErrors.
exception EdgeError {
    1: i32 code               // 400: the request is invalid (bad op, empty body where one is needed, too large)
    2: string message
}

service Edge {
    PushKeysResp PushKeys(1: PushKeysReq req) throws (1: EdgeError err)
    PushRoomResp PushRoom(1: PushRoomReq req) throws (1: EdgeError err)
    BroadcastResp Broadcast(1: BroadcastReq req) throws (1: EdgeError err)
    RoomsResp Rooms(1: RoomsReq req)
    KickResp Kick(1: KickReq req) throws (1: EdgeError err)
    DrainResp Drain(1: DrainReq req) throws (1: EdgeError err)
}
