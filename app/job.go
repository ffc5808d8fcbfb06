package app

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/goim-edge/goim-edge/app/obs"
	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/control/job"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/open"
	"github.com/goim-edge/goim-edge/registry"
)

// jobNode is a running job: it consumes until its consumer is closed.
type jobNode struct {
	log     *slog.Logger
	j       *job.Job
	done    chan struct{}
	runErr  atomic.Pointer[error]
	stopped atomic.Bool
}

// startJob runs a job over consumer, finding edges in disc.
func startJob(cfg *config.Config, log *slog.Logger, consumer queue.Consumer, disc registry.Discovery) (*jobNode, error) {
	jc := cfg.Job.Config
	jc.RPCSecret = cfg.RPC.Secret
	j, err := job.New(jc, consumer, disc)
	if err != nil {
		return nil, err
	}
	n := &jobNode{log: log, j: j.WithLogger(log), done: make(chan struct{})}
	go func() {
		defer close(n.done)
		if err := j.Run(context.Background()); err != nil {
			n.runErr.Store(&err)
			log.Error("job stopped consuming", "err", err)
		} else if !n.stopped.Load() {
			err := errors.New("job: consumer ended unexpectedly")
			n.runErr.Store(&err)
			log.Error("job stopped consuming", "err", err)
		}
	}()
	return n, nil
}

// check fails once the job no longer consumes (a readiness gate: it
// reads an atomic).
func (n *jobNode) check() error {
	if p := n.runErr.Load(); p != nil {
		return *p
	}
	return nil
}

// wait waits for Run to return (the consumer was closed and drained) or
// ctx to end.
func (n *jobNode) wait(ctx context.Context) error {
	select {
	case <-n.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops consuming at once and releases the edge clients.
func (n *jobNode) close() error {
	n.stopped.Store(true)
	return n.j.Close()
}

// jobRole is the job process.
type jobRole struct {
	cfg      *config.Config
	log      *slog.Logger
	health   *obs.Health
	admin    *adminServer
	rk       *registryKit
	reg      *registration
	consumer queue.Consumer
	job      *jobNode
}

func startJobRole(_ context.Context, cfg *config.Config, log *slog.Logger) (_ node, err error) {
	r := &jobRole{cfg: cfg, log: log, health: obs.NewHealth()}
	var undo cleanup
	defer undo.onError(&err)
	// The admin port is bound before anything connects or consumes, and
	// served once the job runs.
	if r.admin, err = bindAdmin("job", cfg.Job.AdminAddr, r.health, log); err != nil {
		return nil, err
	}
	undo.push("admin close", func() error { return r.admin.shutdown(context.Background()) })
	if r.rk, err = openRegistry(cfg, log); err != nil {
		return nil, err
	}
	undo.push("registry close", r.rk.close)
	// Every kind in queue.consume at once, so a move from one queue to
	// another loses nothing still queued in the old one; kind memory is
	// refused (it only exists inside standalone).
	if r.consumer, err = open.Consumer(cfg.Queue, nil, log); err != nil {
		return nil, err
	}
	undo.push("queue close", r.consumer.Close)
	if r.job, err = startJob(cfg, log, r.consumer, r.rk.disc); err != nil {
		return nil, err
	}
	undo.push("job stop", r.job.close)
	r.health.AddGate("consumer", r.job.check)
	r.admin.serve(log)
	inst := instance(cfg, registry.ServiceJob, cfg.Node.ID, registry.Addrs{HTTP: advertise(cfg, r.admin.addr())})
	if r.reg, err = register(r.rk.newRegistrar(), inst, log); err != nil {
		return nil, err
	}
	undo.release() // stop closes it all
	r.health.SetStarted()
	r.health.Start(log)
	return r, nil
}

// stop: deregister, stop consuming (messages in hand stay unacknowledged
// in the queue and are claimed by another job: delivery is at least once),
// release edge clients, close the queue and registry.
func (r *jobRole) stop(ctx context.Context) error {
	st := &steps{log: r.log}
	r.health.SetDraining()
	st.do("job deregister", func() error { return r.reg.deregister(ctx) })
	st.do("job drain delay", func() error { return sleepCtx(ctx, r.cfg.Shutdown.DrainDelay) })
	st.do("job stop", r.job.close)
	st.do("queue close", r.consumer.Close)
	if r.admin != nil {
		st.do("admin close", func() error { return r.admin.shutdown(ctx) })
	}
	st.do("registry close", r.rk.close)
	r.health.Close()
	return st.err()
}
