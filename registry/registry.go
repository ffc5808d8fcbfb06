// Package registry is service registration and discovery: etcd for clusters,
// a static list for standalone mode and tests. Keys follow
// /{env}/{service}/{region}/{node}; see docs/registry.md.
package registry

import (
	"context"
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
	RPC  string `json:"rpc,omitempty"`
	TCP  string `json:"tcp,omitempty"`
	WS   string `json:"ws,omitempty"`
	WSS  string `json:"wss,omitempty"`
	HTTP string `json:"http,omitempty"`
}

// Instance is one registered node: the JSON value stored under its key.
type Instance struct {
	Env     string `json:"env"`
	Service string `json:"service"`
	Region  string `json:"region"`
	Zone    string `json:"zone,omitempty"`
	Node    string `json:"node"`
	// Domain is the public host name clients on the web platform dial.
	Domain   string    `json:"domain,omitempty"`
	Addrs    Addrs     `json:"addrs"`
	Weight   int       `json:"weight"`
	Conns    int       `json:"conn_count"`
	IPs      int       `json:"ip_count"`
	Draining bool      `json:"draining"`
	Started  time.Time `json:"start_time"`
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
	// Instances is the current view of service's nodes.
	Instances(service string) []Instance
	// Watch calls fn with the full list of service's nodes now and after
	// every change, until ctx ends.
	Watch(ctx context.Context, service string, fn func([]Instance)) error
}
