// Logic service for edges: auth, routes, online counts, upstream messages.
namespace go logic

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

struct HeartbeatResp {}

struct RenewOnlineReq {
    1: string server
    2: map<string, i32> room_count  // room id -> members on this edge
    3: i32 conn_count
    4: i32 ip_count
}

struct RenewOnlineResp {
    1: map<string, i32> all_room_count  // room id -> members cluster-wide
}

struct ReceiveReq {
    1: i64 mid
    2: string key
    3: i32 op
    4: binary body
    5: string server
}

struct ReceiveResp {}

service Logic {
    ConnectResp Connect(1: ConnectReq req)
    DisconnectResp Disconnect(1: DisconnectReq req)
    HeartbeatResp Heartbeat(1: HeartbeatReq req)
    RenewOnlineResp RenewOnline(1: RenewOnlineReq req)
    ReceiveResp Receive(1: ReceiveReq req)
}
