package etcdreg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/goim-edge/goim-edge/registry"
)

// Registrar keeps one node registered under a lease: it grants a lease,
// puts the instance's key with it and keeps the lease alive. When the
// keepalive ends (lease expired during an etcd outage, revoked, or etcd
// lost its data) it registers again with a new lease, retrying forever
// with backoff until Deregister or the Register context ends.
type Registrar struct {
	cli *clientv3.Client
	cfg Config
	log *slog.Logger

	// mu serializes every write of the key (registration, Update,
	// Deregister) so an older value can never overwrite a newer one.
	mu     sync.Mutex
	inst   registry.Instance
	value  string
	lease  clientv3.LeaseID // 0 while not registered
	stale  clientv3.LeaseID // a lost lease to revoke once re-registered
	active bool             // between Register and Deregister
	stop   context.CancelFunc
	done   chan struct{} // closed when the keep loop has exited
	kaStop context.CancelFunc
	// lastErr is why the last registration attempt failed (nil after a
	// success), for CheckRegistration.
	lastErr error
}

var _ registry.Registrar = (*Registrar)(nil)

// NewRegistrar returns a registrar using cli; cfg supplies the TTL,
// request timeout and the Env/Region/Zone of instances that leave them
// empty. A nil logger means slog.Default().
func NewRegistrar(cli *clientv3.Client, cfg Config, log *slog.Logger) *Registrar {
	if log == nil {
		log = slog.Default()
	}
	return &Registrar{cli: cli, cfg: cfg.withDefaults(), log: log.With("component", "registry")}
}

// complete fills the instance's empty location fields from the config.
func (r *Registrar) complete(inst registry.Instance) registry.Instance {
	if inst.Env == "" {
		inst.Env = r.cfg.Env
	}
	if inst.Region == "" {
		inst.Region = r.cfg.Region
	}
	if inst.Zone == "" {
		inst.Zone = r.cfg.Zone
	}
	return inst
}

// Register publishes inst and keeps it registered until Deregister or
// ctx ends (after which the lease expires within the TTL). The first
// attempt is made before Register returns; if it fails, the error wraps
// registry.ErrRetrying and the registrar keeps trying in the background.
// Empty Env/Region/Zone are taken from the config.
func (r *Registrar) Register(ctx context.Context, inst registry.Instance) error {
	inst = r.complete(inst)
	if err := inst.Validate(); err != nil {
		return fmt.Errorf("etcdreg: register: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("etcdreg: register %s: %w", inst.Key(), err)
	}
	value, err := json.Marshal(inst)
	if err != nil {
		return fmt.Errorf("etcdreg: register %s: encode: %w", inst.Key(), err)
	}
	r.mu.Lock()
	if r.active {
		key := r.inst.Key()
		r.mu.Unlock()
		return fmt.Errorf("etcdreg: register %s: already registered as %s; deregister first", inst.Key(), key)
	}
	loopCtx, stop := context.WithCancel(ctx)
	r.inst, r.value, r.active, r.stop, r.done = inst, string(value), true, stop, make(chan struct{})
	ka, err := r.registerLocked(loopCtx)
	if errors.Is(err, registry.ErrDuplicateNode) {
		// Another node holds this id: refuse to start rather than fight
		// over the key.
		r.active, r.stop = false, nil
		r.mu.Unlock()
		stop()
		return fmt.Errorf("etcdreg: register %s: %w", inst.Key(), err)
	}
	done := r.done
	r.mu.Unlock()

	go r.keep(loopCtx, ka, done)
	if err != nil {
		return fmt.Errorf("etcdreg: register %s: %w: %w", inst.Key(), err, registry.ErrRetrying)
	}
	return nil
}

// registerLocked grants a fresh lease, puts the current value with it and
// starts its keepalive. A previous lease is revoked only after the put
// has moved the key to the new lease, so a key that survived (etcd
// restored the old lease on restart) never flaps out of view. Callers
// hold r.mu.
func (r *Registrar) registerLocked(ctx context.Context) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	service := r.inst.Service
	if r.lease != 0 {
		r.stale, r.lease = r.lease, 0
		metricRegistered.WithLabelValues(service).Set(0)
	}
	if r.kaStop != nil {
		r.kaStop()
		r.kaStop = nil
	}
	rctx, cancel := context.WithTimeout(ctx, r.cfg.DialTimeout)
	defer cancel()
	grant, err := r.cli.Grant(rctx, r.cfg.ttlSeconds())
	if err != nil {
		metricRegisterErrors.WithLabelValues(service).Inc()
		r.lastErr = fmt.Errorf("grant lease: %w", err)
		return nil, r.lastErr
	}
	if err := r.claimLocked(rctx, grant.ID); err != nil {
		metricRegisterErrors.WithLabelValues(service).Inc()
		_, _ = r.cli.Revoke(rctx, grant.ID)
		r.lastErr = err
		return nil, err
	}
	kaCtx, kaStop := context.WithCancel(ctx)
	ka, err := r.cli.KeepAlive(kaCtx, grant.ID)
	if err != nil {
		kaStop()
		metricRegisterErrors.WithLabelValues(service).Inc()
		r.lastErr = fmt.Errorf("keepalive: %w", err)
		return nil, r.lastErr
	}
	r.lease, r.kaStop, r.lastErr = grant.ID, kaStop, nil
	metricRegistered.WithLabelValues(service).Set(1)
	metricRegistrations.WithLabelValues(service).Inc()
	if r.stale != 0 {
		// Best effort: it has usually expired already.
		_, _ = r.cli.Revoke(rctx, r.stale)
		r.stale = 0
	}
	return ka, nil
}

// claimLocked puts the value under lease, unless another live node holds
// the key. The key may be taken when it is absent, or held by a lease of
// this registrar (a re-registration moves the key from the lost lease to
// the new one), or by a node publishing the same addresses: this node's
// previous run, killed less than a TTL ago (two live processes cannot
// listen on one host:port). Anything else is a second
// node with the same id (ErrDuplicateNode). Each write is a transaction
// on what was read, so two nodes starting at once cannot both win.
// Callers hold r.mu.
func (r *Registrar) claimLocked(ctx context.Context, lease clientv3.LeaseID) error {
	key := r.inst.Key()
	put := clientv3.OpPut(key, r.value, clientv3.WithLease(lease))
	resp, err := r.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(put).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if resp.Succeeded {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return fmt.Errorf("put: %s changed while registering; retrying", key)
	}
	held := kvs[0]
	heldLease := clientv3.LeaseID(held.Lease)
	mine := heldLease != 0 && (heldLease == r.stale || heldLease == r.lease)
	if !mine {
		var other registry.Instance
		if json.Unmarshal(held.Value, &other) == nil && other.Addrs != (registry.Addrs{}) && other.Addrs == r.inst.Addrs {
			mine = true // this node's previous run, not yet expired
		}
	}
	if !mine {
		var other registry.Instance
		_ = json.Unmarshal(held.Value, &other)
		return fmt.Errorf("%w: %s is held by lease %x (addresses %+v, started %s); this node has addresses %+v: give each node its own id",
			registry.ErrDuplicateNode, key, heldLease, other.Addrs, other.Started.Format("2006-01-02T15:04:05Z07:00"), r.inst.Addrs)
	}
	resp, err = r.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", held.ModRevision)).
		Then(put).
		Commit()
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("put: %s changed while registering; retrying", key)
	}
	return nil
}

// CheckRegistration is nil while the node is registered under a live
// lease; otherwise it says why not (wrapping registry.ErrNotRegistered,
// or registry.ErrDuplicateNode when another node holds the id). It is the
// node's readiness check: a node nobody can discover gets no pushes.
func (r *Registrar) CheckRegistration(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !r.active:
		return fmt.Errorf("%w: %s: not registering", registry.ErrNotRegistered, r.inst.Key())
	case r.lease != 0:
		return nil
	case errors.Is(r.lastErr, registry.ErrDuplicateNode):
		return fmt.Errorf("%s: %w", r.inst.Key(), r.lastErr)
	case r.lastErr != nil:
		return fmt.Errorf("%w: %s: %w", registry.ErrNotRegistered, r.inst.Key(), r.lastErr)
	}
	return fmt.Errorf("%w: %s: lease lost, registering again", registry.ErrNotRegistered, r.inst.Key())
}

var _ registry.RegistrationChecker = (*Registrar)(nil)

// keep drains the keepalive channel and, when it closes while the
// registration is still wanted, registers again with backoff.
func (r *Registrar) keep(ctx context.Context, ka <-chan *clientv3.LeaseKeepAliveResponse, done chan struct{}) {
	defer close(done)
	failedFirst := ka == nil // Register's own attempt failed: wait before the next
	for {
		r.mu.Lock()
		key := r.inst.Key()
		r.mu.Unlock()
		if ka != nil {
			for range ka {
				// Responses only confirm the lease; nothing to do.
			}
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("registry: lease lost, registering again", "key", key)
		}
		for attempt := 0; ; attempt++ {
			if failedFirst || attempt > 0 {
				if !sleep(ctx, retryDelay(attempt)) {
					return
				}
			}
			failedFirst = false
			r.mu.Lock()
			if ctx.Err() != nil {
				r.mu.Unlock()
				return
			}
			var err error
			ka, err = r.registerLocked(ctx)
			r.mu.Unlock()
			if err == nil {
				r.log.Info("registry: registered", "key", key, "attempts", attempt+1)
				break
			}
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("registry: register failed, retrying", "key", key, "attempt", attempt+1, "err", err)
		}
	}
}

// Update replaces the published value under the same lease. inst must
// keep the registered key. The value is kept even if etcd is down; it is
// what the next re-registration publishes, and the error then wraps
// registry.ErrRetrying.
func (r *Registrar) Update(ctx context.Context, inst registry.Instance) error {
	inst = r.complete(inst)
	value, err := json.Marshal(inst)
	if err != nil {
		return fmt.Errorf("etcdreg: update %s: encode: %w", inst.Key(), err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.active {
		return fmt.Errorf("etcdreg: update %s: not registered", inst.Key())
	}
	if inst.Key() != r.inst.Key() {
		return fmt.Errorf("etcdreg: update %s: registered as %s", inst.Key(), r.inst.Key())
	}
	r.inst, r.value = inst, string(value)
	if r.lease == 0 {
		return fmt.Errorf("etcdreg: update %s: %w", inst.Key(), registry.ErrRetrying)
	}
	rctx, cancel := context.WithTimeout(ctx, r.cfg.DialTimeout)
	defer cancel()
	// Only while the key is still on this node's lease: never overwrite
	// a key another node took meanwhile.
	resp, err := r.cli.Txn(rctx).
		If(clientv3.Compare(clientv3.LeaseValue(inst.Key()), "=", r.lease)).
		Then(clientv3.OpPut(inst.Key(), r.value, clientv3.WithLease(r.lease))).
		Commit()
	if err == nil && !resp.Succeeded {
		err = errors.New("key is no longer on this node's lease")
	}
	if err != nil {
		// A lost lease is noticed by the keep loop, which re-registers
		// with the value just stored.
		return fmt.Errorf("etcdreg: update %s: %w: %w", inst.Key(), err, registry.ErrRetrying)
	}
	return nil
}

// Deregister stops re-registration, deletes the key and revokes the
// lease, in that order, so discovery drops the node at once. Call it
// before the node stops serving. If etcd is unreachable the key still
// disappears when the lease expires, within the TTL. Deregister without a
// registration is a no-op.
func (r *Registrar) Deregister(ctx context.Context) error {
	r.mu.Lock()
	if !r.active {
		r.mu.Unlock()
		return nil
	}
	r.active = false
	r.stop()
	done := r.done
	key, lease, service := r.inst.Key(), r.lease, r.inst.Service
	r.lease = 0
	if r.kaStop != nil {
		r.kaStop()
		r.kaStop = nil
	}
	metricRegistered.WithLabelValues(service).Set(0)
	rctx, cancel := context.WithTimeout(ctx, r.cfg.DialTimeout)
	defer cancel()
	var errs []error
	if lease != 0 {
		// Only this node's key: a key on another lease is another node's.
		_, err := r.cli.Txn(rctx).
			If(clientv3.Compare(clientv3.LeaseValue(key), "=", lease)).
			Then(clientv3.OpDelete(key)).
			Commit()
		if err != nil {
			errs = append(errs, fmt.Errorf("delete: %w", err))
		}
		if _, err := r.cli.Revoke(rctx, lease); err != nil {
			errs = append(errs, fmt.Errorf("revoke lease: %w", err))
		}
	}
	if r.stale != 0 {
		_, _ = r.cli.Revoke(rctx, r.stale) // best effort: usually expired
		r.stale = 0
	}
	r.mu.Unlock()
	<-done
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("etcdreg: deregister %s: %w", key, err)
	}
	return nil
}

// Lease is the current lease ID, 0 while not registered. Exposed for
// operators' tooling and tests.
func (r *Registrar) Lease() clientv3.LeaseID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lease
}
