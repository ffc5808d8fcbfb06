// Shared types of goim-edge's internal RPC and queue messages.
namespace go common

// PushKind tells job how to fan a queued push out.
enum PushKind {
    KEYS = 1,      // to the named device keys on one edge
    ROOM = 2,      // to every member of one room on every edge holding it
    BROADCAST = 3, // to every connection that accepts the op
}

// PushMsg is one queue message from logic to job. Keys pushes become one
// message per target edge; room and broadcast pushes one message each.
struct PushMsg {
    1: string id                  // unique message id (for logs, dedup, tracing)
    2: PushKind kind
    3: i32 op                     // goim operation delivered to devices
    4: string server              // target edge node id (KEYS only)
    5: list<string> keys          // device keys on that edge (KEYS only)
    6: string room                // full room id "type://id" (ROOM only)
    7: i32 speed                  // broadcast connections/s across the cluster, 0 = no limit (BROADCAST only)
    8: binary body                // raw message body, as posted
    9: i64 enqueued_unix_nano     // when logic accepted the push
    10: optional list<StreamPos> positions // the message's place in each target stream with history on (docs/history.md)
    11: optional map<string, string> trace // W3C trace context (traceparent, tracestate) when tracing is on (docs/tracing.md)
}

// StreamPos is one message's place in a target's history stream: offset
// counts messages from 1 within epoch; a new epoch means the stream's
// earlier history was lost (docs/history.md).
struct StreamPos {
    1: string stream              // "user:<mid>" or "room:<type>://<id>"
    2: string epoch
    3: i64 offset
}

// StreamMsg is one kept message of a stream with its offset.
struct StreamMsg {
    1: i64 offset
    2: string id
    3: i32 op
    4: binary body
    5: i64 enqueued_unix_nano
}
