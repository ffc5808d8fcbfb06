package nodes

import "github.com/goim-edge/goim-edge/kitex_gen/push"

// Thrift is r as the Push service's NodesWeighted reply; its JSON
// encoding is the same as r's.
func (r Result) Thrift() *push.NodesWeightedResp {
	return &push.NodesWeightedResp{
		Domain:       r.Domain,
		TcpPort:      int32(r.TCPPort),
		WsPort:       int32(r.WSPort),
		WssPort:      int32(r.WSSPort),
		Heartbeat:    int32(r.Heartbeat),
		HeartbeatMax: int32(r.HeartbeatMax),
		Nodes:        r.Nodes,
		Backoff: &push.Backoff{
			MaxDelay:  int32(r.Backoff.MaxDelay),
			BaseDelay: int32(r.Backoff.BaseDelay),
			Factor:    r.Backoff.Factor,
			Jitter:    r.Backoff.Jitter,
		},
	}
}
