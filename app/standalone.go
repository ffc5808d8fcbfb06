package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/goim-edge/goim-edge/app/obs"
	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/control/queue/memory"
)

// standalone is edge + logic + job in one process: the edge calls logic
// in process, logic queues into an in-memory queue that job consumes, and
// job pushes to the edge over loopback Kitex, found in the (static)
// registry where the edge registered itself. Its one admin port is
// logic.admin_addr, reporting the readiness of all three (edge.admin_addr
// and job.admin_addr are not used).
type standalone struct {
	cfg    *config.Config
	log    *slog.Logger
	health *obs.Health
	logicBase
	queue *memory.Queue
	logic *logicNode
	edge  *edgeNode
	job   *jobNode
}

func startStandalone(_ context.Context, cfg *config.Config, log *slog.Logger) (_ node, err error) {
	s := &standalone{cfg: cfg, log: log, health: obs.NewHealth()}
	var undo cleanup
	defer undo.onError(&err)
	// Every port is bound before any is served: logic's here, the edge's
	// in its Start (all of them, or none). A busy port fails the start
	// with its own error and leaves nothing bound or running.
	if s.logicBase, err = openLogicBase(cfg, log, s.health, &undo); err != nil {
		return nil, err
	}
	s.queue = memory.New(cfg.Queue.Memory).WithLogger(log)
	undo.push("queue close", s.queue.Close)

	// The nodes API and the demo page describe this process's own edge.
	if p := port(cfg.Edge.TCPAddr); p > 0 {
		cfg.Logic.Config.Nodes.TCPPort = p
	}
	if p := port(cfg.Edge.WSAddr); p > 0 {
		cfg.Logic.Config.Nodes.WSPort = p
	}
	d := logicDeps{store: s.store, producer: s.queue, rk: s.rk, health: s.health, demoWSPort: port(cfg.Edge.WSAddr)}
	if s.logic, err = newLogicNode(cfg, log, d, s.httpLn, s.rpcLn); err != nil {
		return nil, err
	}
	undo.push("auth and history close", s.logic.closeDeps)
	if s.edge, err = startEdge(cfg, log, localLogic{l: s.logic.l}, s.rk, true); err != nil {
		return nil, err
	}
	undo.push("edge stop", func() error {
		// The edge has registered and may hold devices: drain it as stop
		// would, within a short budget.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st := &steps{log: log}
		s.edge.stop(sctx, st)
		return st.err()
	})
	if s.job, err = startJob(cfg, log, s.queue, s.rk.disc); err != nil {
		return nil, err
	}
	undo.push("job stop", s.job.close)
	s.health.AddGate("job", s.job.check)
	s.health.AddGate("edge", s.edge.srv.Refusing)
	if err := s.logic.serve(d); err != nil {
		return nil, err
	}
	undo.release() // stop closes it all
	s.admin.serve(log)
	s.health.SetStarted()
	s.health.Start(log)
	log.Info("standalone serving",
		"tcp", s.edge.srv.Addrs().TCP, "ws", s.edge.srv.Addrs().WS, "edge_rpc", s.edge.srv.Addrs().RPC,
		"http", s.logic.httpAddr, "logic_rpc", s.logic.rpcAddr, "admin", s.admin.addr())
	return s, nil
}

// stop: fail /readyz and wait the drain delay; stop the HTTP API and RPC
// (no new pushes); close the memory queue so job delivers what is queued
// to the edge and returns; then end the edge's connections (paced, with
// close codes), deregister it and close the rest.
func (s *standalone) stop(ctx context.Context) error {
	st := &steps{log: s.log}
	s.health.SetDraining()
	st.do("drain delay", func() error { return sleepCtx(ctx, s.cfg.Shutdown.DrainDelay) })
	st.do("logic deregister", func() error { return s.logic.reg.deregister(ctx) })
	st.do("logic stop http", func() error { return s.logic.stopHTTP(ctx) })
	st.do("logic stop rpc", func() error { return s.logic.stopRPC(ctx) })
	st.do("queue drain", func() error {
		s.job.stopped.Store(true) // Run ends on its own once the queue is drained
		if err := s.queue.Close(); err != nil {
			return err
		}
		return s.job.wait(ctx)
	})
	st.do("job stop", s.job.close)
	// Nothing is queued any more: the edge's devices got every accepted
	// push. End them (close codes, paced) and stop the edge; the drain
	// delay above already covered the registry.
	s.edge.beginDrain(ctx, st)
	s.edge.endDevices(ctx, st)
	s.edge.finish(ctx, st)
	st.do("admin close", func() error { return s.admin.shutdown(ctx) })
	st.do("close", func() error { s.closeRest(); return nil })
	s.health.Close()
	return st.err()
}

// closeRest releases what stop's earlier steps do not: auth, history,
// store, registry (and the queue, closed by then: Close is idempotent).
func (s *standalone) closeRest() {
	err := errors.Join(s.logic.closeDeps(), s.queue.Close(), s.store.Close(), s.rk.close())
	if err != nil {
		s.log.Warn("standalone: close", "err", err)
	}
}

// port is the numeric port of a host:port address, 0 when absent.
func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
