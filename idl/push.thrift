// Push service: the goim HTTP API's operations as Kitex RPC for internal services.
namespace go push

include "common.thrift"

struct PushKeysReq {
    1: i32 op
    2: list<string> keys
    3: binary body
}

struct PushMidsReq {
    1: i32 op
    2: list<i64> mids
    3: binary body
}

struct PushRoomReq {
    1: i32 op
    2: string type
    3: string room
    4: binary body
}

struct PushAllReq {
    1: i32 op
    2: i32 speed
    3: binary body
}

struct PushResp {
    1: list<string> msg_ids   // ids of the queue messages the push became
    2: optional list<common.StreamPos> positions // per target stream with history on (docs/history.md)
}

// HistoryReq asks for a stream's messages after (epoch, offset); an empty
// epoch with offset 0 asks for everything kept.
struct HistoryReq {
    1: string stream
    2: string epoch
    3: i64 offset
    4: i32 limit              // at most this many messages (bounded by the server)
}

// HistoryMsg is one kept message with its offset in the stream.
struct HistoryMsg {
    1: i64 offset
    2: string id
    3: i32 op
    4: binary body
    5: i64 enqueued_unix_nano
}

struct HistoryResp {
    1: list<HistoryMsg> messages
    2: bool recovered         // false: the epoch differs or messages after offset are no longer kept
    3: common.StreamPos position // the stream's current position
}

struct PositionReq {
    1: string stream
}

struct PositionResp {
    1: common.StreamPos position
    2: optional common.StreamPos acked // user streams: the user's acknowledged position, when one is kept in the current epoch (docs/recovery.md)
}

struct OnlineTopReq {
    1: string type
    2: i32 limit
}

struct RoomCount {
    1: string room_id
    2: i64 count
}

struct OnlineTopResp {
    1: list<RoomCount> rooms
}

struct OnlineRoomReq {
    1: string type
    2: list<string> rooms
}

struct OnlineRoomResp {
    1: map<string, i64> counts
}

struct OnlineTotalReq {}

struct OnlineTotalResp {
    1: i64 ip_count
    2: i64 conn_count
}

struct NodesWeightedReq {
    1: string platform
    2: string client_ip
}

struct Backoff {
    1: i32 max_delay
    2: i32 base_delay
    3: double factor
    4: double jitter
}

struct NodesWeightedResp {
    1: string domain
    2: i32 tcp_port
    3: i32 ws_port
    4: i32 wss_port
    5: i32 heartbeat
    6: i32 heartbeat_max
    7: list<string> nodes
    8: Backoff backoff
}

struct NodesInstancesReq {}

struct NodesInstancesResp {
    1: string instances_json  // registry values, as JSON array
}

exception PushError {
    1: i32 code               // -400 bad request, -500 server error
    2: string message
}

service Push {
    PushResp PushKeys(1: PushKeysReq req) throws (1: PushError err)
    PushResp PushMids(1: PushMidsReq req) throws (1: PushError err)
    PushResp PushRoom(1: PushRoomReq req) throws (1: PushError err)
    PushResp PushAll(1: PushAllReq req) throws (1: PushError err)
    OnlineTopResp OnlineTop(1: OnlineTopReq req) throws (1: PushError err)
    OnlineRoomResp OnlineRoom(1: OnlineRoomReq req) throws (1: PushError err)
    OnlineTotalResp OnlineTotal(1: OnlineTotalReq req) throws (1: PushError err)
    NodesWeightedResp NodesWeighted(1: NodesWeightedReq req) throws (1: PushError err)
    NodesInstancesResp NodesInstances(1: NodesInstancesReq req) throws (1: PushError err)
    HistoryResp History(1: HistoryReq req) throws (1: PushError err)
    PositionResp Position(1: PositionReq req) throws (1: PushError err)
}
