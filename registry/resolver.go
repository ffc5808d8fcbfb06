package registry

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/discovery"
	"github.com/cloudwego/kitex/pkg/loadbalance"
	"github.com/cloudwego/kitex/pkg/loadbalance/lbcache"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
)

// ResolverRefresh is how often a Kitex client built with
// Resolver.ClientOptions re-reads the discovery view. Kitex resolvers are
// pull-based (the client's balancer cache calls Resolve on a ticker and
// has no hook for pushes), but Resolve only copies the in-memory view that
// the etcd watch keeps current, so a short interval costs next to nothing
// and bounds how long a client keeps using a departed node or ignores a
// new one.
const ResolverRefresh = 200 * time.Millisecond

// Instance tags a Resolver sets on Kitex instances.
const (
	TagNode     = "node"
	TagRegion   = "region"
	TagZone     = "zone"
	TagDraining = "draining"
)

var resolverSeq atomic.Int64

// Resolver is a Kitex discovery.Resolver over a Discovery: a client's
// destination service name (e.g. ServiceLogic) is the registry service.
// Nodes without an RPC address and draining nodes are left out; a node's
// Weight is its Kitex weight (DefaultWeight when unset).
type Resolver struct {
	d    Discovery
	name string
}

var _ discovery.Resolver = (*Resolver)(nil)

// NewResolver returns a resolver reading d.
func NewResolver(d Discovery) *Resolver {
	// Kitex shares balancer caches between clients whose resolvers have
	// the same Name, so each Resolver gets its own: two resolvers over
	// different registries must never see each other's nodes.
	return &Resolver{d: d, name: "goim-registry-" + strconv.FormatInt(resolverSeq.Add(1), 10)}
}

// ClientOptions are the Kitex client options that route through this
// resolver with a weighted balancer refreshed every ResolverRefresh.
func (r *Resolver) ClientOptions() []client.Option {
	return []client.Option{
		client.WithResolver(r),
		client.WithLoadBalancer(loadbalance.NewWeightedBalancer(), &lbcache.Options{
			RefreshInterval: ResolverRefresh,
			ExpireInterval:  time.Minute,
		}),
	}
}

// Target is the destination's service name.
func (r *Resolver) Target(_ context.Context, target rpcinfo.EndpointInfo) string {
	return target.ServiceName()
}

// Resolve lists the serving nodes of service desc. No nodes is not an
// error: the result is cached and refreshed, and an error would make the
// client keep its previous (stale) list.
func (r *Resolver) Resolve(_ context.Context, desc string) (discovery.Result, error) {
	if desc == "" {
		return discovery.Result{}, fmt.Errorf("registry: resolve: empty service name")
	}
	list := r.d.Instances(desc)
	out := make([]discovery.Instance, 0, len(list))
	for _, inst := range list {
		if inst.Draining || inst.Addrs.RPC == "" {
			continue
		}
		out = append(out, discovery.NewInstance("tcp", inst.Addrs.RPC, inst.EffectiveWeight(), map[string]string{
			TagNode:     inst.Node,
			TagRegion:   inst.Region,
			TagZone:     inst.Zone,
			TagDraining: strconv.FormatBool(inst.Draining),
		}))
	}
	return discovery.Result{Cacheable: true, CacheKey: desc, Instances: out}, nil
}

// Diff is Kitex's default diff, except that a changed tag (zone, node
// name) also counts as an update.
func (r *Resolver) Diff(cacheKey string, prev, next discovery.Result) (discovery.Change, bool) {
	ch := discovery.Change{Result: discovery.Result{Cacheable: next.Cacheable, CacheKey: cacheKey, Instances: next.Instances}}
	before := make(map[string]discovery.Instance, len(prev.Instances))
	for _, in := range prev.Instances {
		before[in.Address().String()] = in
	}
	after := make(map[string]struct{}, len(next.Instances))
	for _, in := range next.Instances {
		addr := in.Address().String()
		after[addr] = struct{}{}
		old, ok := before[addr]
		switch {
		case !ok:
			ch.Added = append(ch.Added, in)
		case old.Weight() != in.Weight() || !sameTags(old, in):
			ch.Updated = append(ch.Updated, in)
		}
	}
	for _, in := range prev.Instances {
		if _, ok := after[in.Address().String()]; !ok {
			ch.Removed = append(ch.Removed, in)
		}
	}
	return ch, len(ch.Added)+len(ch.Updated)+len(ch.Removed) > 0
}

func sameTags(a, b discovery.Instance) bool {
	ta, okA := a.(interface{ Tags() map[string]string })
	tb, okB := b.(interface{ Tags() map[string]string })
	if !okA || !okB {
		return okA == okB
	}
	return maps.Equal(ta.Tags(), tb.Tags())
}

// Name identifies this resolver for Kitex's caches; unique per Resolver.
func (r *Resolver) Name() string { return r.name }
