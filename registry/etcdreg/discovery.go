package etcdreg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/internal/fanout"
)

// Discovery follows services' key prefixes in etcd. The first use of a
// service (Instances or Watch) lists its prefix and starts a watch that
// lives until Close; later calls read the in-memory view. While etcd is
// unreachable the last known view is kept.
type Discovery struct {
	cli *clientv3.Client
	cfg Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	services map[string]*serviceWatch
	closed   bool

	// afterList, when set by tests, runs after every successful list and
	// before the watch starts; it lets a test compact the revision the
	// watch is about to resume from.
	afterList func(service string, rev int64)
}

var _ registry.Discovery = (*Discovery)(nil)

// NewDiscovery returns a discovery over cli for cfg.Env, limited to
// cfg.WatchRegion when set. A nil logger means slog.Default(). Close
// stops its watches.
func NewDiscovery(cli *clientv3.Client, cfg Config, log *slog.Logger) *Discovery {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Discovery{
		cli: cli, cfg: cfg.withDefaults(), log: log.With("component", "registry"),
		ctx: ctx, cancel: cancel,
		services: make(map[string]*serviceWatch),
	}
}

// Prefix is the key prefix discovery lists and watches for service.
func (d *Discovery) Prefix(service string) string {
	if d.cfg.WatchRegion != "" {
		return "/" + d.cfg.Env + "/" + service + "/" + d.cfg.WatchRegion + "/"
	}
	return "/" + d.cfg.Env + "/" + service + "/"
}

// serviceWatch is the live view of one service.
type serviceWatch struct {
	service string
	prefix  string
	hub     fanout.Hub

	ready   chan struct{} // closed after the first successful list
	readyBy time.Time     // callers stop waiting for ready then

	mu      sync.Mutex
	version uint64
	nodes   map[string]registry.Instance // etcd key → instance
	view    []registry.Instance
}

// service returns service's watch, starting it on first use, and waits
// (up to DialTimeout after it started) for its first list.
func (d *Discovery) service(service string) (*serviceWatch, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, errors.New("etcdreg: discovery closed")
	}
	w := d.services[service]
	if w == nil {
		w = &serviceWatch{
			service: service,
			prefix:  d.Prefix(service),
			ready:   make(chan struct{}),
			readyBy: time.Now().Add(d.cfg.DialTimeout),
			nodes:   make(map[string]registry.Instance),
		}
		d.services[service] = w
		d.wg.Add(1)
		go d.follow(w)
	}
	d.mu.Unlock()
	select {
	case <-w.ready:
	default:
		if wait := time.Until(w.readyBy); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-w.ready:
			case <-t.C:
			}
			t.Stop()
		}
	}
	return w, nil
}

// Instances is service's current node list, sorted by key. The first
// call for a service waits up to DialTimeout for the initial list; with
// etcd down it then returns an empty list while the watch keeps trying.
func (d *Discovery) Instances(service string) []registry.Instance {
	w, err := d.service(service)
	if err != nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.view)
}

// Watch calls fn with service's list now and after every change until
// ctx ends or the discovery is closed; see registry.Discovery for the
// delivery guarantees. Changes are delivered from the service's watch
// goroutine, so a slow fn delays every watcher of that service.
func (d *Discovery) Watch(ctx context.Context, service string, fn func([]registry.Instance)) error {
	if fn == nil {
		return fmt.Errorf("etcdreg: watch %s: nil callback", service)
	}
	w, err := d.service(service)
	if err != nil {
		return fmt.Errorf("etcdreg: watch %s: %w", service, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(d.ctx, cancel)
	context.AfterFunc(sctx, func() { stop() })
	w.hub.Subscribe(sctx, w.snapshot, fn)
	return nil
}

// WaitReady returns once service has been listed from etcd (so every
// Watch subscriber has been given a complete view: the list is published
// before it counts as ready), or when ctx ends or the discovery closes.
// While etcd is unreachable it keeps waiting; the watch keeps trying.
func (d *Discovery) WaitReady(ctx context.Context, service string) error {
	w, err := d.service(service)
	if err != nil {
		return fmt.Errorf("etcdreg: wait for %s: %w", service, err)
	}
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("etcdreg: wait for %s: %w", service, ctx.Err())
	case <-d.ctx.Done():
		return fmt.Errorf("etcdreg: wait for %s: discovery closed", service)
	}
}

var _ registry.ReadyWaiter = (*Discovery)(nil)

// Close stops every watch; Instances then returns nothing new and Watch
// fails.
func (d *Discovery) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	return nil
}

func (w *serviceWatch) snapshot() (uint64, []registry.Instance) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.version, w.view
}

// errCompacted marks a watch that must re-list because the revision it
// resumes from is gone.
var errCompacted = errors.New("watch revision compacted")

// follow lists and watches w's prefix until the discovery closes:
// list, watch from the list's revision + 1, and on compaction or a
// broken watch list again.
func (d *Discovery) follow(w *serviceWatch) {
	defer d.wg.Done()
	reason := "start"
	for attempt := 0; d.ctx.Err() == nil; {
		metricRelists.WithLabelValues(w.service, reason).Inc()
		rev, err := d.list(w)
		if err != nil {
			if d.ctx.Err() != nil {
				return
			}
			d.log.Warn("registry: list failed, retrying", "prefix", w.prefix, "attempt", attempt+1, "err", err)
			sleep(d.ctx, retryDelay(attempt))
			attempt++
			continue
		}
		attempt = 0
		select {
		case <-w.ready:
		default:
			close(w.ready)
		}
		if d.afterList != nil {
			d.afterList(w.service, rev)
		}
		err = d.watch(w, rev+1)
		if d.ctx.Err() != nil {
			return
		}
		if errors.Is(err, errCompacted) {
			reason = "compacted"
			d.log.Info("registry: watch compacted, listing again", "prefix", w.prefix)
			continue
		}
		reason = "watch_error"
		d.log.Warn("registry: watch ended, listing again", "prefix", w.prefix, "err", err)
		sleep(d.ctx, retryDelay(0))
	}
}

// list replaces w's view with the prefix's current content and returns
// the revision it was read at.
func (d *Discovery) list(w *serviceWatch) (int64, error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.DialTimeout)
	defer cancel()
	resp, err := d.cli.Get(ctx, w.prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", w.prefix, err)
	}
	nodes := make(map[string]registry.Instance, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if inst, ok := d.decode(kv); ok {
			nodes[string(kv.Key)] = inst
		}
	}
	w.mu.Lock()
	w.nodes = nodes
	d.publishLocked(w)
	return resp.Header.Revision, nil
}

// watch applies events from rev on until the watch breaks; it returns
// errCompacted when rev is no longer available.
func (d *Discovery) watch(w *serviceWatch, rev int64) error {
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	// WithRequireLeader: a member cut off from its cluster ends the watch
	// instead of silently serving a stale view.
	ch := d.cli.Watch(clientv3.WithRequireLeader(ctx), w.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
	for resp := range ch {
		if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return errCompacted
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if len(resp.Events) == 0 {
			continue
		}
		w.mu.Lock()
		for _, ev := range resp.Events {
			key := string(ev.Kv.Key)
			switch ev.Type {
			case mvccpb.PUT:
				if inst, ok := d.decode(ev.Kv); ok {
					w.nodes[key] = inst
				} else {
					delete(w.nodes, key)
				}
			case mvccpb.DELETE:
				delete(w.nodes, key)
			}
		}
		d.publishLocked(w)
	}
	return errors.New("watch channel closed")
}

// publishLocked rebuilds w's sorted view, bumps its version and hands it
// to the watchers after releasing w.mu, which the caller holds.
func (d *Discovery) publishLocked(w *serviceWatch) {
	view := make([]registry.Instance, 0, len(w.nodes))
	for _, inst := range w.nodes {
		view = append(view, inst)
	}
	slices.SortFunc(view, func(a, b registry.Instance) int { return strings.Compare(a.Key(), b.Key()) })
	w.version++
	w.view = view
	v := w.version
	w.mu.Unlock()
	metricInstances.WithLabelValues(w.service).Set(float64(len(view)))
	w.hub.Publish(v, view)
}

// decode parses a registered value. The key is authoritative for the
// node's identity: fields that disagree with it are overwritten, so a
// later delete of the key always removes what it added. Values that are
// not an instance are logged and ignored.
func (d *Discovery) decode(kv *mvccpb.KeyValue) (registry.Instance, bool) {
	var inst registry.Instance
	if err := json.Unmarshal(kv.Value, &inst); err != nil {
		d.log.Warn("registry: ignoring undecodable value", "key", string(kv.Key), "err", err)
		return inst, false
	}
	key := string(kv.Key)
	parts := strings.Split(key, "/")
	if len(parts) != 5 || parts[0] != "" {
		d.log.Warn("registry: ignoring key outside the /env/service/region/node layout", "key", key)
		return registry.Instance{}, false
	}
	inst.Env, inst.Service, inst.Region, inst.Node = parts[1], parts[2], parts[3], parts[4]
	if err := inst.Validate(); err != nil {
		d.log.Warn("registry: ignoring invalid instance", "key", key, "err", err)
		return registry.Instance{}, false
	}
	return inst, true
}
