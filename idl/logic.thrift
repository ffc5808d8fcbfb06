// Logic service for edges: auth, routes, online counts, upstream messages.
namespace go logic

include "common.thrift"

struct ConnectReq {
    1: string server          // edge node id
    2: string cookie
    3: binary token           // auth frame body, as sent by the device
    4: string remote_addr
}

struct ConnectResp {
    1: i64 mid
    2: string key
    3: list<string> rooms     // rooms to join, "type://id"
    4: list<i32> accepts
    5: i64 heartbeat_ms       // deadline without a heartbeat before the edge closes the connection
    // room_grants, when set, are the only rooms the device may be in
    // (jwt and webhook modes): exact room ids, or prefixes ending in "*"
    // ("live://*"). Unset: any room (json mode, goim's behaviour).
    6: optional list<string> room_grants
    7: string store_epoch     // the route store's generation when the route was written (see EpochResp)
}

struct DisconnectReq {
    1: i64 mid
    2: string key
    3: string server
}

struct DisconnectResp {
    1: bool removed           // false when a newer route for the key exists
}

struct HeartbeatReq {
    1: i64 mid
    2: string key
    3: string server
}

struct HeartbeatResp {
    1: string store_epoch     // see EpochResp
}

struct RenewOnlineReq {
    1: string server
    2: map<string, i32> room_count  // room id -> members on this edge
    3: i32 conn_count
    4: i32 ip_count
}

struct RenewOnlineResp {
    1: map<string, i32> all_room_count  // room id -> members cluster-wide
    2: string store_epoch               // see EpochResp
}

struct EpochReq {
    1: string server          // edge node id
}

// EpochResp names the route store's current generation. It changes when
// the store lost its data (Redis restarted empty, flushed): an edge that
// sees a new epoch re-registers every route and room count it holds.
struct EpochResp {
    1: string store_epoch
}

// Route is one device connection an edge holds, as Connect wrote it.
struct Route {
    1: i64 mid
    2: string key
}

// RestoreReq re-writes routes an edge holds after the store lost them;
// edges send them in pages.
struct RestoreReq {
    1: string server
    2: list<Route> routes
    3: string store_epoch     // the epoch the edge is restoring into
}

struct RestoreResp {
    1: i32 restored
    2: string store_epoch     // the epoch now; differs from the request's when the store was lost again meanwhile
}

struct ReceiveReq {
    1: i64 mid
    2: string key
    3: i32 op
    4: binary body
    5: string server
}

struct ReceiveResp {}

// ResumeReq asks for what a device missed in the streams it follows,
// after the position it holds in each (epoch "" with offset 0: everything
// kept; for the user's own stream, from its acknowledged position).
// The edge has checked that the device follows each stream.
struct ResumeReq {
    1: i64 mid
    2: string key
    3: string server
    4: list<common.StreamPos> streams
}

// ResumedStream is one stream's recovery: the messages after the asked
// position (oldest first), whether they are all of them, and where the
// device stands after them.
struct ResumedStream {
    1: common.StreamPos position  // after the messages: live continues at offset + 1
    2: bool recovered
    3: string reason              // when not recovered: gap, epoch, limit, no_history, not_followed (docs/recovery.md)
    4: list<common.StreamMsg> messages
}

struct ResumeResp {
    1: list<ResumedStream> streams // in the order of the request
}

// AckReq records that a device of user mid processed its stream up to
// (epoch, offset).
struct AckReq {
    1: i64 mid
    2: string key
    3: string server
    4: string epoch
    5: i64 offset
}

struct AckResp {
    1: string result              // advanced, stale, other_epoch, beyond, invalid or no_history (docs/recovery.md)
}

// AuthRefused is Connect's answer to a token that authentication refused
// (bad signature, expired, unknown to the webhook): the device's fault,
// not an outage. Any other Connect error is logic's or the transport's,
// and an edge may try another logic instance.
exception AuthRefused {
    1: string reason
}

service Logic {
    ConnectResp Connect(1: ConnectReq req) throws (1: AuthRefused refused)
    DisconnectResp Disconnect(1: DisconnectReq req)
    HeartbeatResp Heartbeat(1: HeartbeatReq req)
    RenewOnlineResp RenewOnline(1: RenewOnlineReq req)
    ReceiveResp Receive(1: ReceiveReq req)
    EpochResp Epoch(1: EpochReq req)
    RestoreResp Restore(1: RestoreReq req)
    ResumeResp Resume(1: ResumeReq req)
    AckResp Ack(1: AckReq req)
}
