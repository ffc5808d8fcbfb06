// Package registry is service registration and discovery: etcd for clusters,
// a static list for standalone mode and tests. Keys follow
// /{env}/{service}/{region}/{node}; see docs/registry.md.
package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Service names of goim-edge's roles.
const (
	ServiceEdge  = "goim.edge"
	ServiceLogic = "goim.logic"
	ServiceJob   = "goim.job"
)

// Addrs are a node's listening addresses ("host:port"); empty when the role
// does not serve that protocol.
type Addrs struct {
	RPC  string `json:"rpc,omitempty" toml:"rpc"`
	TCP  string `json:"tcp,omitempty" toml:"tcp"`
	WS   string `json:"ws,omitempty" toml:"ws"`
	WSS  string `json:"wss,omitempty" toml:"wss"`
	HTTP string `json:"http,omitempty" toml:"http"`
}

// Instance is one registered node: the JSON value stored under its key.
type Instance struct {
	Env     string `json:"env" toml:"env"`
	Service string `json:"service" toml:"service"`
	Region  string `json:"region" toml:"region"`
	Zone    string `json:"zone,omitempty" toml:"zone"`
	Node    string `json:"node" toml:"node"`
	// Domain is the public host name clients on the web platform dial.
	Domain string `json:"domain,omitempty" toml:"domain"`
	Addrs  Addrs  `json:"addrs" toml:"addrs"`
	// Public are the device addresses (tcp, ws, wss) of an edge reached
	// through a load balancer, NAT or public IP, when they differ from
	// Addrs, which others in the cluster dial. Empty when the edge sets no
	// public address; devices are then given Addrs' hosts.
	Public Addrs `json:"public,omitzero" toml:"public"`
	// Weight is the node's share of traffic relative to its peers; 0
	// means DefaultWeight. To take a node out of rotation set Draining.
	Weight   int       `json:"weight" toml:"weight"`
	Conns    int       `json:"conn_count" toml:"conn_count"`
	IPs      int       `json:"ip_count" toml:"ip_count"`
	Draining bool      `json:"draining" toml:"draining"`
	Started  time.Time `json:"start_time" toml:"start_time"`
}

// Registrar keeps one node registered until Deregister.
type Registrar interface {
	// Register publishes inst and keeps it alive (lease + keepalive,
	// re-registering after an outage) until Deregister or ctx ends.
	Register(ctx context.Context, inst Instance) error
	// Update replaces the published value (load counts, draining flag).
	Update(ctx context.Context, inst Instance) error
	// Deregister deletes the key; callers do this before they stop serving.
	Deregister(ctx context.Context) error
}

// Discovery finds the live nodes of a service.
type Discovery interface {
	// Instances is the current view of service's nodes, sorted by Key.
	Instances(service string) []Instance
	// Watch calls fn with the full list of service's nodes now and after
	// every change, until ctx ends. The first call happens before Watch
	// returns; later calls come from another goroutine, never overlap for
	// one Watch, and never deliver an older view after a newer one. fn must
	// not block for long: it delays the next view for this subscriber.
	// Watch does not block until ctx ends.
	Watch(ctx context.Context, service string, fn func([]Instance)) error
}

// ReadyWaiter is implemented by discoveries whose first view of a service
// may be incomplete: etcd's, whose Watch delivers an empty list when etcd
// cannot be reached at start. A consumer that must not act on an empty
// view (job would acknowledge room pushes to nobody) waits for WaitReady
// first; discoveries without it (static) are complete from the start.
type ReadyWaiter interface {
	// WaitReady returns nil once service's view is complete (listed from
	// the source at least once) and every Watch subscriber has been given
	// that view, or the context's error.
	WaitReady(ctx context.Context, service string) error
}

// DefaultWeight is the weight of an instance registered without one
// (goim's and Kitex's default).
const DefaultWeight = 10

// EffectiveWeight is Weight, or DefaultWeight when unset.
func (i Instance) EffectiveWeight() int {
	if i.Weight <= 0 {
		return DefaultWeight
	}
	return i.Weight
}

// Key is the instance's registry key, /{env}/{service}/{region}/{node}.
// Two instances with the same Key are the same node.
func (i Instance) Key() string {
	return "/" + i.Env + "/" + i.Service + "/" + i.Region + "/" + i.Node
}

// Validate reports whether the instance can be registered: every key
// segment must be present and free of '/', so that prefix listing by
// region cannot match the wrong node.
func (i Instance) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"env", i.Env}, {"service", i.Service}, {"region", i.Region}, {"node", i.Node},
	} {
		if f.v == "" {
			return fmt.Errorf("registry: instance %s is empty", f.name)
		}
		if strings.Contains(f.v, "/") {
			return fmt.Errorf("registry: instance %s %q contains '/'", f.name, f.v)
		}
	}
	if i.Weight < 0 {
		return fmt.Errorf("registry: instance %s weight %d is negative", i.Key(), i.Weight)
	}
	return nil
}

// ErrDuplicateNode is wrapped by Register (and reported by
// RegistrationChecker) when another live node holds the same key: two
// nodes configured with one node id would otherwise overwrite each other's
// registration, and pushes for one would go to the other.
var ErrDuplicateNode = errors.New("registry: node id is registered by another live node")

// ErrNotRegistered is reported by RegistrationChecker while the node is
// not registered (its lease lapsed and registering again fails, or it
// was never registered).
var ErrNotRegistered = errors.New("registry: node is not registered")

// RegistrationChecker is implemented by registrars whose registration can
// lapse (etcd's). A node that is not registered is not discoverable: job
// sends it nothing and new devices are not sent to it, so it reports
// itself not ready.
type RegistrationChecker interface {
	// CheckRegistration is nil while the node is registered; otherwise an
	// error wrapping ErrNotRegistered or ErrDuplicateNode says why.
	CheckRegistration(ctx context.Context) error
}

// ErrRetrying is wrapped by Register when the first attempt failed (etcd
// unreachable, say) and the registrar keeps retrying in the background
// until it succeeds or Deregister is called. Callers that can serve
// without being discoverable yet may log it and go on.
var ErrRetrying = errors.New("registry: not registered yet, retrying in background")
