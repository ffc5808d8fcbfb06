package etcdreg

import (
	"errors"
	"log/slog"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Registry bundles what a process needs from etcd: one client, the
// discovery over it (embedded, so a *Registry is a registry.Discovery),
// and registrars for the nodes the process runs.
type Registry struct {
	*Discovery
	Client *clientv3.Client

	cfg Config
	log *slog.Logger
}

// Open connects to etcd (without waiting for it; see NewClient) and
// starts a discovery. A nil logger means slog.Default(). Close releases
// both.
func Open(cfg Config, log *slog.Logger) (*Registry, error) {
	if log == nil {
		log = slog.Default()
	}
	cli, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Registry{Discovery: NewDiscovery(cli, cfg, log), Client: cli, cfg: cfg, log: log}, nil
}

// NewRegistrar returns a registrar for one node of this process.
func (r *Registry) NewRegistrar() *Registrar { return NewRegistrar(r.Client, r.cfg, r.log) }

// Close stops discovery and closes the client. Deregister nodes first:
// a closed client cannot delete their keys (they then expire with their
// leases).
func (r *Registry) Close() error {
	return errors.Join(r.Discovery.Close(), r.Client.Close())
}
