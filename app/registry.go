package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/etcdreg"
	"github.com/goim-edge/goim-edge/registry/static"
)

// registryKit is the registry a process uses: one Discovery for finding
// the other roles, and registrars for the services this process offers.
type registryKit struct {
	disc         registry.Discovery
	newRegistrar func() registry.Registrar
	close        func() error
}

// openRegistry builds the configured registry. The static kind holds the
// fixed nodes of [registry.static] (and whatever this process registers
// itself, which is how standalone mode lists its own edge).
func openRegistry(cfg *config.Config, log *slog.Logger) (*registryKit, error) {
	switch cfg.Registry.Kind {
	case "static":
		var fixed []registry.Instance
		for _, a := range cfg.Registry.Static.Logic {
			fixed = append(fixed, registry.Instance{
				Env: cfg.Node.Env, Service: registry.ServiceLogic, Region: cfg.Node.Region,
				Node: "logic-" + a, Addrs: registry.Addrs{RPC: a},
			})
		}
		for _, e := range cfg.Registry.Static.Edges {
			fixed = append(fixed, registry.Instance{
				Env: cfg.Node.Env, Service: registry.ServiceEdge, Region: cfg.Node.Region,
				Node: e.ID, Domain: e.Domain, Weight: e.Weight,
				Addrs: registry.Addrs{RPC: e.RPC, TCP: e.TCP, WS: e.WS},
			})
		}
		reg := static.New(fixed...)
		return &registryKit{
			disc:         reg,
			newRegistrar: func() registry.Registrar { return reg.Registrar() },
			close:        func() error { return nil },
		}, nil
	case "etcd":
		ec := cfg.Registry.Etcd
		ec.Env, ec.Region, ec.Zone = cfg.Node.Env, cfg.Node.Region, cfg.Node.Zone
		cli, err := etcdreg.NewClient(ec)
		if err != nil {
			return nil, err
		}
		disc := etcdreg.NewDiscovery(cli, ec, log)
		return &registryKit{
			disc:         disc,
			newRegistrar: func() registry.Registrar { return etcdreg.NewRegistrar(cli, ec, log) },
			close:        func() error { return errors.Join(disc.Close(), cli.Close()) },
		}, nil
	default:
		return nil, fmt.Errorf("registry: unknown kind %q", cfg.Registry.Kind)
	}
}

// instance describes this node for the registry.
func instance(cfg *config.Config, service, node string, addrs registry.Addrs) registry.Instance {
	return registry.Instance{
		Env:     cfg.Node.Env,
		Service: service,
		Region:  cfg.Node.Region,
		Zone:    cfg.Node.Zone,
		Node:    node,
		Domain:  cfg.Node.Domain,
		Addrs:   addrs,
		Weight:  cfg.Node.Weight,
		Started: time.Now().UTC(),
	}
}

// registration is one node published in the registry.
type registration struct {
	r      registry.Registrar
	cancel context.CancelFunc // ends the registrar's keepalive
}

// register publishes inst and keeps it alive until deregister. An
// unreachable etcd does not stop the node from serving: the registrar
// keeps retrying in the background.
func register(r registry.Registrar, inst registry.Instance, log *slog.Logger) (*registration, error) {
	// The registrar keeps the registration alive for as long as this
	// context lives, so it is not a request-scoped one.
	ctx, cancel := context.WithCancel(context.Background())
	err := r.Register(ctx, inst)
	switch {
	case err == nil:
		log.Info("registered", "key", inst.Key())
	case errors.Is(err, registry.ErrRetrying):
		log.Warn("registry unreachable; serving anyway and retrying registration", "key", inst.Key(), "err", err)
	default:
		cancel()
		return nil, fmt.Errorf("register %s: %w", inst.Key(), err)
	}
	return &registration{r: r, cancel: cancel}, nil
}

// deregister deletes the node's key, then stops the keepalive.
func (g *registration) deregister(ctx context.Context) error {
	err := g.r.Deregister(ctx)
	g.cancel()
	return err
}

// advertise turns a bound listen address into the address other nodes
// dial: the configured advertise host, else the listen host when it names
// one, else the machine's first non-loopback IPv4 address.
func advertise(cfg *config.Config, bound string) string {
	if bound == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	switch {
	case cfg.Node.AdvertiseHost != "":
		host = cfg.Node.AdvertiseHost
	case host == "" || net.ParseIP(host).IsUnspecified():
		host = firstIPv4()
	}
	return net.JoinHostPort(host, port)
}

func firstIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
