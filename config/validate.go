package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/goim-edge/goim-edge/redisconn"
)

// Roles a process can run.
const (
	RoleStandalone = "standalone"
	RoleEdge       = "edge"
	RoleLogic      = "logic"
	RoleJob        = "job"
)

// Validate checks values every role shares: enums, addresses, durations.
// It reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	oneOf(&errs, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(&errs, "log.format", c.Log.Format, "text", "json")
	if c.Node.ID == "" {
		bad("node.id: must not be empty")
	}
	if strings.ContainsAny(c.Node.ID, "/ ") {
		bad("node.id %q: must not contain '/' or spaces (it is part of registry keys)", c.Node.ID)
	}
	for _, kv := range [][2]string{{"node.env", c.Node.Env}, {"node.region", c.Node.Region}} {
		if kv[1] == "" || strings.ContainsAny(kv[1], "/ ") {
			bad("%s %q: must be non-empty without '/' or spaces", kv[0], kv[1])
		}
	}
	if c.Node.Weight < 0 {
		bad("node.weight: must be >= 0")
	}
	if c.Shutdown.Timeout <= 0 {
		bad("shutdown.timeout: must be > 0")
	}
	if c.Shutdown.DrainDelay < 0 || c.Shutdown.DrainDelay >= c.Shutdown.Timeout {
		bad("shutdown.drain_delay: must be >= 0 and below shutdown.timeout")
	}

	if c.Shutdown.CloseRate < 0 {
		bad("shutdown.close_rate: must be >= 0")
	}
	oneOf(&errs, "registry.kind", c.Registry.Kind, "static", "etcd")
	if c.Registry.Kind == "etcd" {
		if len(c.Registry.Etcd.Endpoints) == 0 {
			bad("registry.etcd.endpoints: at least one endpoint is needed")
		}
		if err := c.Registry.Etcd.TLS.Validate(); err != nil {
			bad("registry.etcd.%v", err)
		}
		if c.Registry.Etcd.TTL < 2e9 {
			bad("registry.etcd.lease_ttl: must be at least 2s")
		}
		if c.Registry.Etcd.DialTimeout <= 0 {
			bad("registry.etcd.dial_timeout: must be > 0")
		}
	}
	for i, e := range c.Registry.Static.Edges {
		if e.ID == "" || e.RPC == "" {
			bad("registry.static.edges[%d]: id and rpc are required", i)
		}
		addr(&errs, fmt.Sprintf("registry.static.edges[%d].rpc", i), e.RPC, false)
	}
	for i, a := range c.Registry.Static.Logic {
		addr(&errs, fmt.Sprintf("registry.static.logic[%d]", i), a, false)
	}

	addr(&errs, "edge.tcp_addr", c.Edge.TCPAddr, true)
	addr(&errs, "edge.ws_addr", c.Edge.WSAddr, true)
	addr(&errs, "edge.rpc_addr", c.Edge.RPCAddr, false)
	addr(&errs, "edge.admin_addr", c.Edge.AdminAddr, true)
	errs = append(errs, c.Edge.validatePublic()...)
	edgeCfg := c.Edge.Config
	edgeCfg.Node = c.EdgeNode()
	if err := edgeCfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	addr(&errs, "logic.http_addr", c.Logic.HTTPAddr, false)
	addr(&errs, "logic.rpc_addr", c.Logic.RPCAddr, false)
	addr(&errs, "logic.admin_addr", c.Logic.AdminAddr, true)
	addr(&errs, "job.admin_addr", c.Job.AdminAddr, true)
	if c.Logic.HTTP.MaxBodyBytes < 0 {
		bad("logic.http.max_body_bytes (renamed logic.max_body_bytes): must be > 0")
	}
	for _, err := range []error{c.RPC.Validate(), c.Logic.Config.Validate(), c.Job.Config.Validate(), c.Queue.Validate(), c.Auth.Validate(), c.Runtime.Validate(), c.Trace.Validate()} {
		if err != nil {
			errs = append(errs, err)
		}
	}

	errs = append(errs, c.checkSecrets()...)

	oneOf(&errs, "store.kind", c.Store.Kind, "memory", "redis")
	if c.Store.Kind == "redis" {
		if c.Store.Redis.Mode() == redisconn.Single {
			addr(&errs, "store.redis.addr", c.Store.Redis.Addr, false)
		}
		if err := c.Store.Redis.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Queue.Kind == "redis" && c.Queue.Redis.Mode() == redisconn.Single {
		addr(&errs, "queue.redis.addr", c.Queue.Redis.Addr, false)
	}
	return errors.Join(errs...)
}

// ValidateRole adds the rules that depend on which role runs: separate
// processes cannot share an in-process queue or store, and need a registry
// that can find the others.
func (c *Config) ValidateRole(role string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch role {
	case RoleStandalone:
	case RoleEdge:
		if c.Registry.Kind == "static" && len(c.Registry.Static.Logic) == 0 {
			bad("registry.static.logic: an edge with the static registry needs the logic RPC addresses")
		}
	case RoleLogic:
		if c.Store.Kind == "memory" {
			bad("store.kind memory: a separate logic keeps routes in its own memory, invisible to other logic nodes; use redis (or run standalone)")
		}
		if c.Queue.Kind == "memory" {
			bad("queue.kind memory: only standalone can use the in-process queue; a separate job could never read it (use redis or kafka)")
		}
	case RoleJob:
		if slices.Contains(c.Queue.ConsumeKinds(), "memory") {
			bad("queue.kind memory: only standalone can use the in-process queue (use redis or kafka)")
		}
		if c.Registry.Kind == "static" && len(c.Registry.Static.Edges) == 0 {
			bad("registry.static.edges: a job with the static registry needs the edges")
		}
	default:
		bad("unknown role %q (standalone, edge, logic, job)", role)
	}
	return errors.Join(errs...)
}

func oneOf(errs *[]error, key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	*errs = append(*errs, fmt.Errorf("%s %q: must be one of %s", key, v, strings.Join(allowed, ", ")))
}

// addr checks a "host:port" listen or dial address; optional ones may be
// empty (the listener is disabled).
func addr(errs *[]error, key, v string, optional bool) {
	if v == "" {
		if !optional {
			*errs = append(*errs, fmt.Errorf("%s: must not be empty", key))
		}
		return
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		*errs = append(*errs, fmt.Errorf("%s %q: want host:port: %v", key, v, err))
	}
}
