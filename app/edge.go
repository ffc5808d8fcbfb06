package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/retry"

	"github.com/goim-edge/goim-edge/app/obs"
	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/edge"
	edgeapi "github.com/goim-edge/goim-edge/kitex_gen/edge"
	logicsvc "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/rpcauth"
	"github.com/goim-edge/goim-edge/tracing"
)

// registryRefresh is how often an edge republishes its load (connection
// and IP counts) in the registry.
const registryRefresh = 5 * time.Second

// edgeNode is a running edge: its server and its registration.
type edgeNode struct {
	cfg    *config.Config
	log    *slog.Logger
	srv    *edge.Server
	reg    *registration
	inst   registry.Instance
	cancel context.CancelFunc // stops the registry updates
}

// startEdge starts an edge that authenticates through lc and registers in
// rk. The caller owns lc and rk. With loopbackRPC (standalone, where job
// runs in the same process) the registered RPC address is the loopback
// one, whatever the machine's addresses are.
func startEdge(cfg *config.Config, log *slog.Logger, lc logicsvc.Client, rk *registryKit, loopbackRPC bool) (_ *edgeNode, err error) {
	var undo cleanup
	defer undo.onError(&err)
	ec := cfg.Edge.Config
	ec.Node = cfg.EdgeNode()
	ec.RPCAuth = cfg.RPC
	if ec.RPCAddr != "" {
		ec.RPCAddr = rpcListenAddr(cfg, log, "edge", ec.RPCAddr)
	}
	srv, err := edge.New(ec, lc)
	if err != nil {
		return nil, err
	}
	srv.WithLogger(log)
	if err := srv.Start(); err != nil {
		return nil, err // Start leaves nothing bound or running
	}
	undo.push("edge shutdown", func() error {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		return srv.Shutdown(sctx)
	})
	bound := srv.Addrs()
	n := &edgeNode{cfg: cfg, log: log, srv: srv}
	rpcAddr := advertise(cfg, bound.RPC)
	if loopbackRPC {
		rpcAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port(bound.RPC)))
	}
	n.inst = instance(cfg, registry.ServiceEdge, ec.Node, registry.Addrs{
		RPC: rpcAddr,
		TCP: advertise(cfg, bound.TCP),
		WS:  advertise(cfg, bound.WS),
		WSS: advertise(cfg, bound.WSS),
	})
	n.inst.Public = publicAddrs(cfg.Edge, n.inst.Addrs)
	registrar := rk.newRegistrar()
	if n.reg, err = register(registrar, n.current(), log); err != nil {
		return nil, err
	}
	undo.release() // stop drains and shuts the edge down
	uctx, ucancel := context.WithCancel(context.Background())
	n.cancel = ucancel
	go registry.KeepUpdated(uctx, registrar, registryRefresh, n.current, log)
	// A Drain RPC (an operator emptying the edge) is published at once.
	go func() {
		select {
		case <-srv.DrainStarted():
			if err := n.publish(uctx); err != nil && uctx.Err() == nil {
				log.Warn("publish draining", "err", err)
			}
		case <-uctx.Done():
		}
	}()
	return n, nil
}

// current is the edge's registry value now, with its live load.
func (n *edgeNode) current() registry.Instance {
	st := n.srv.Stats()
	inst := n.inst
	inst.Conns, inst.IPs, inst.Draining = st.Conns, st.IPs, st.Draining
	return inst
}

// stop drains the edge so that no push to a connected device is lost:
// it is published as draining (new devices and /goim/nodes/weighted
// avoid it, job keeps pushing to it), waits the drain delay, ends its
// device connections paced while its Edge RPC service still delivers
// pushes, and deregisters only once its last device is gone; then the
// RPC server and listeners stop.
func (n *edgeNode) stop(ctx context.Context, st *steps) {
	n.beginDrain(ctx, st)
	st.do("edge drain delay", func() error { return sleepCtx(ctx, n.cfg.Shutdown.DrainDelay) })
	n.endDevices(ctx, st)
	n.finish(ctx, st)
}

// beginDrain refuses new devices and publishes the draining flag at once
// (the periodic refresh would take up to registryRefresh).
func (n *edgeNode) beginDrain(ctx context.Context, st *steps) {
	st.do("edge mark draining", func() error {
		n.srv.BeginDrain()
		return n.publish(ctx)
	})
}

// publish writes the edge's current registry value now. A registry that
// is unreachable keeps the value for the re-registration, which is not
// an error here.
func (n *edgeNode) publish(ctx context.Context) error {
	err := n.reg.r.Update(ctx, n.current())
	if errors.Is(err, registry.ErrRetrying) {
		n.log.Warn("registry unreachable; the draining flag is published on re-registration", "err", err)
		return nil
	}
	return err
}

// endDevices ends the device connections (shutdown.close_rate per
// second, 0: all at once) and waits for the last one.
func (n *edgeNode) endDevices(ctx context.Context, st *steps) {
	st.do("edge close connections", func() error { return n.closePaced(ctx, n.cfg.Shutdown.CloseRate) })
}

// finish deregisters the edge (its devices are gone, job may stop
// pushing to it) and stops its servers.
func (n *edgeNode) finish(ctx context.Context, st *steps) {
	n.cancel()
	st.do("edge deregister", func() error { return n.reg.deregister(ctx) })
	st.do("edge shutdown", func() error { return n.srv.Shutdown(ctx) })
}

// shutdownReserve is the part of the shutdown budget kept for closing
// what a paced close has not reached yet.
const shutdownReserve = 2 * time.Second

// closePaced ends the edge's connections at rate per second (the edge's
// Drain; 0: all at once) and waits until none is left or the budget
// nears its end; Shutdown closes whatever is left.
func (n *edgeNode) closePaced(ctx context.Context, rate int) error {
	left := n.srv.Stats().Conns
	if left == 0 {
		return nil
	}
	if _, err := n.srv.Handler().Drain(ctx, &edgeapi.DrainReq{Rate: int32(min(rate, math.MaxInt32))}); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	n.log.Info("closing connections", "count", left, "per_second", rate)
	wait := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, dl.Add(-shutdownReserve))
		defer cancel()
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for n.srv.Stats().Conns > 0 {
		select {
		case <-wait.Done():
			n.log.Warn("shutdown budget nearly spent; closing the remaining connections at once", "left", n.srv.Stats().Conns)
			return nil
		case <-t.C:
		}
	}
	n.log.Info("connections closed; deregistering")
	return nil
}

// newLogicClient is the edge's Kitex client to logic: every logic node in
// the registry, weighted, with a deadline per call and one retry on
// another node when a call fails.
func newLogicClient(cfg *config.Config, rk *registryKit) (logicsvc.Client, error) {
	fp := retry.NewFailurePolicy()
	fp.WithMaxRetryTimes(1)
	opts := append(append(append(rpcauth.ClientOptions(cfg.RPC.Secret), tracing.KitexClientOptions()...), registry.NewResolver(rk.disc).ClientOptions()...),
		client.WithRPCTimeout(cfg.Edge.LogicTimeout),
		client.WithConnectTimeout(time.Second),
		client.WithFailureRetry(fp),
		client.WithMiddleware(obs.ClientMetrics),
	)
	c, err := logicsvc.NewClient(registry.ServiceLogic, opts...)
	if err != nil {
		return nil, fmt.Errorf("logic client: %w", err)
	}
	return c, nil
}

// edgeRole is the edge process: the edge, its logic client, its registry
// and its admin port.
type edgeRole struct {
	log    *slog.Logger
	health *obs.Health
	admin  *adminServer
	rk     *registryKit
	edge   *edgeNode
}

func startEdgeRole(_ context.Context, cfg *config.Config, log *slog.Logger) (_ node, err error) {
	r := &edgeRole{log: log, health: obs.NewHealth()}
	var undo cleanup
	defer undo.onError(&err)
	// The admin port is bound first and served only once the edge's
	// Start has bound (and begun serving) all of its own ports.
	if r.admin, err = bindAdmin("edge", cfg.Edge.AdminAddr, r.health, log); err != nil {
		return nil, err
	}
	undo.push("admin close", func() error { return r.admin.shutdown(context.Background()) })
	if r.rk, err = openRegistry(cfg, log); err != nil {
		return nil, err
	}
	undo.push("registry close", r.rk.close)
	r.health.AddGate("logic", func() error {
		if len(r.rk.disc.Instances(registry.ServiceLogic)) == 0 {
			return errors.New("no logic node in the registry")
		}
		return nil
	})
	lc, err := newLogicClient(cfg, r.rk)
	if err != nil {
		return nil, err
	}
	if r.edge, err = startEdge(cfg, log, lc, r.rk, false); err != nil {
		return nil, err
	}
	undo.release() // stop drains the edge, then closes the rest
	r.health.AddGate("edge", r.edge.srv.Refusing)
	// An edge that cannot keep its registration gets no pushes: not ready.
	if c, ok := r.edge.reg.r.(registry.RegistrationChecker); ok {
		// A gate, not a background check: it reads the registrar's state,
		// no I/O, so /readyz sees a lapse at once.
		r.health.AddGate("registration", func() error { return c.CheckRegistration(context.Background()) })
	}
	r.admin.serve(log)
	r.health.SetStarted()
	r.health.Start(log)
	return r, nil
}

func (r *edgeRole) stop(ctx context.Context) error {
	st := &steps{log: r.log}
	r.health.SetDraining()
	r.edge.stop(ctx, st)
	st.do("close", func() error { return r.closeRest(ctx) })
	r.health.Close()
	return st.err()
}

// closeRest closes the admin port and the registry, the last steps of
// stop.
func (r *edgeRole) closeRest(ctx context.Context) error {
	return errors.Join(r.admin.shutdown(ctx), r.rk.close())
}
