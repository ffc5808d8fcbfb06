package logic

import (
	"context"

	"github.com/goim-edge/goim-edge/control/logic/nodes"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
	"github.com/goim-edge/goim-edge/registry"
)

// NodeSelector picks the edges a client should dial (/goim/nodes/weighted)
// from the registry's current edges.
type NodeSelector interface {
	Weighted(ctx context.Context, platform, clientIP string, edges []registry.Instance) (*push.NodesWeightedResp, error)
}

// NewNodeSelector is the nodes package's weighted selection under cfg
// (goim's [node] settings: ports, domain, node count, region preference,
// backoff).
func NewNodeSelector(cfg nodes.Config) NodeSelector { return weightedNodes{cfg: cfg} }

type weightedNodes struct{ cfg nodes.Config }

func (w weightedNodes) Weighted(_ context.Context, platform, clientIP string, edges []registry.Instance) (*push.NodesWeightedResp, error) {
	return nodes.Weighted(edges, nodes.Request{Platform: platform, ClientIP: clientIP}, w.cfg).Thrift(), nil
}

// WeightedNodes answers /goim/nodes/weighted for a client on platform
// ("web" gets domains, anything else IPs) connecting from clientIP.
func (l *Logic) WeightedNodes(ctx context.Context, platform, clientIP string) (*push.NodesWeightedResp, error) {
	resp, err := l.nodes.Weighted(ctx, platform, clientIP, l.edges())
	if err != nil {
		return nil, err
	}
	if resp.Nodes == nil {
		resp.Nodes = []string{} // goim clients iterate it
	}
	return resp, nil
}

// EdgeInstances is the registry's current view of the edges, sorted by
// key; never nil.
func (l *Logic) EdgeInstances() []registry.Instance {
	return nodes.Instances(l.edges())
}

func (l *Logic) edges() []registry.Instance {
	if l.discovery == nil {
		return nil
	}
	return l.discovery.Instances(registry.ServiceEdge)
}
