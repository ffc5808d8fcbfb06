package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	kitexserver "github.com/cloudwego/kitex/server"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/httpapi"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/open"
	"github.com/goim-edge/goim-edge/internal/demo"
	"github.com/goim-edge/goim-edge/internal/obs"
	"github.com/goim-edge/goim-edge/registry"
)

// logicNode is a running logic: the service, its HTTP server (goim API,
// health, metrics, demo page) and its Kitex server (Logic + Push).
type logicNode struct {
	cfg     *config.Config
	log     *slog.Logger
	l       *logic.Logic
	hz      *server.Hertz
	hzDone  chan struct{}
	rpc     kitexserver.Server
	rpcDone chan struct{}
	reg     *registration
	auth    auth.Authenticator

	httpAddr, rpcAddr string
}

// logicDeps are what a logic is built from; the role chooses them.
type logicDeps struct {
	store    store.Store
	producer queue.Producer
	rk       *registryKit
	health   *obs.Health
	// demoWSPort is the local edge's WebSocket port for the demo page
	// (standalone); 0 lets the page ask the nodes API.
	demoWSPort int
}

// newLogicNode builds logic on deps; serve starts its servers.
func newLogicNode(cfg *config.Config, log *slog.Logger, d logicDeps) (*logicNode, error) {
	a, err := auth.New(cfg.Auth)
	if err != nil {
		return nil, err
	}
	l, err := logic.New(cfg.Logic.Config, logic.Deps{
		Store:     d.store,
		Queue:     d.producer,
		Auth:      a,
		Discovery: d.rk.disc,
		Logger:    log,
	})
	if err != nil {
		return nil, errors.Join(err, closeAuth(a))
	}
	return &logicNode{cfg: cfg, log: log, l: l, auth: a}, nil
}

// serve starts the HTTP and Kitex servers and registers the node. On
// failure everything it started is stopped again.
func (n *logicNode) serve(d logicDeps) error {
	if err := n.startHTTP(d); err != nil {
		return err
	}
	if err := n.startRPC(); err != nil {
		return errors.Join(err, n.stopHTTP(context.Background()))
	}
	inst := instance(n.cfg, registry.ServiceLogic, n.cfg.Node.ID, registry.Addrs{
		RPC:  advertise(n.cfg, n.rpcAddr),
		HTTP: advertise(n.cfg, n.httpAddr),
	})
	reg, err := register(d.rk.newRegistrar(), inst, n.log)
	if err != nil {
		return errors.Join(err, n.stopServers(context.Background()))
	}
	n.reg = reg
	return nil
}

// httpListenAddr applies the API's safety rule: without an API key the
// push API is open, so it binds loopback unless open_api says otherwise.
func httpListenAddr(cfg *config.Config, log *slog.Logger) string {
	a := cfg.Logic.HTTPAddr
	if cfg.Logic.HTTP.APIKey != "" || cfg.Logic.OpenAPI {
		return a
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return a
	}
	loop := net.JoinHostPort("127.0.0.1", port)
	log.Warn("logic.http.api_key is empty: the push API binds loopback only; set an api_key or logic.open_api = true to serve it on "+a,
		"addr", loop)
	return loop
}

func (n *logicNode) startHTTP(d logicDeps) error {
	addr := httpListenAddr(n.cfg, n.log)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("logic: listen http %s: %w", addr, err)
	}
	n.httpAddr = ln.Addr().String()
	maxBody := max(n.cfg.Logic.HTTP.MaxBodyBytes+4096, 1<<20)
	hz := server.New(
		server.WithListener(ln),
		server.WithMaxRequestBodySize(maxBody),
		server.WithDisablePrintRoute(true),
		// Shutdown waits for in-flight requests, which call_timeout bounds,
		// but also for idle keep-alive connections: do not wait longer.
		server.WithExitWaitTime(n.cfg.Logic.CallTimeout+500*time.Millisecond),
		server.WithReadTimeout(30*time.Second),
		server.WithIdleTimeout(2*time.Minute),
	)
	httpapi.Register(hz, n.l, n.cfg.Logic.HTTP)
	obs.RegisterHertz(hz, d.health)
	if n.cfg.Logic.DemoPage {
		if err := demo.Register(hz, demo.Config{WSURL: n.cfg.Logic.DemoWSURL, WSPort: d.demoWSPort}); err != nil {
			ln.Close()
			return err
		}
	}
	n.hz = hz
	n.hzDone = make(chan struct{})
	go func() {
		defer close(n.hzDone)
		if err := hz.Run(); err != nil {
			n.log.Error("logic: http server stopped", "addr", n.httpAddr, "err", err)
		}
	}()
	return nil
}

func (n *logicNode) startRPC() error {
	ln, err := net.Listen("tcp", n.cfg.Logic.RPCAddr)
	if err != nil {
		return fmt.Errorf("logic: listen rpc %s: %w", n.cfg.Logic.RPCAddr, err)
	}
	n.rpcAddr = ln.Addr().String()
	never := func() <-chan error { return make(chan error) }
	svr := kitexserver.NewServer(
		kitexserver.WithListener(ln),
		kitexserver.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: registry.ServiceLogic}),
		// The process owns signals; stop orders the shutdown.
		kitexserver.WithExitSignal(never),
		kitexserver.WithExitWaitTime(3*time.Second),
		kitexserver.WithMiddleware(obs.ServerMetrics),
		kitexserver.WithCompatibleMiddlewareForUnary(),
	)
	if err := n.l.RegisterKitex(svr); err != nil {
		ln.Close()
		return err
	}
	n.rpc = svr
	n.rpcDone = make(chan struct{})
	go func() {
		defer close(n.rpcDone)
		if err := svr.Run(); err != nil {
			n.log.Error("logic: rpc server stopped", "addr", n.rpcAddr, "err", err)
		}
	}()
	return nil
}

// stopHTTP stops taking pushes; in-flight requests finish within ctx.
func (n *logicNode) stopHTTP(ctx context.Context) error {
	if n.hz == nil {
		return nil
	}
	err := n.hz.Shutdown(ctx)
	select {
	case <-n.hzDone:
	case <-ctx.Done():
	}
	n.hz = nil
	return err
}

// stopRPC stops the Kitex server (edges' calls and internal pushes).
func (n *logicNode) stopRPC(ctx context.Context) error {
	if n.rpc == nil {
		return nil
	}
	err := n.rpc.Stop()
	select {
	case <-n.rpcDone:
	case <-ctx.Done():
	}
	n.rpc = nil
	return err
}

func (n *logicNode) stopServers(ctx context.Context) error {
	return errors.Join(n.stopHTTP(ctx), n.stopRPC(ctx))
}

func closeAuth(a auth.Authenticator) error {
	if c, ok := a.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// logicRole is the logic process.
type logicRole struct {
	cfg      *config.Config
	log      *slog.Logger
	health   *obs.Health
	rk       *registryKit
	store    store.Store
	producer queue.Producer
	logic    *logicNode
}

func startLogicRole(ctx context.Context, cfg *config.Config, log *slog.Logger) (node, error) {
	r := &logicRole{cfg: cfg, log: log, health: obs.NewHealth()}
	var err error
	if r.rk, err = openRegistry(cfg, log); err != nil {
		return nil, err
	}
	if r.store, err = openStore(cfg); err != nil {
		return nil, errors.Join(err, r.rk.close())
	}
	if p, ok := r.store.(interface{ Ping(context.Context) error }); ok {
		r.health.AddCheck("store", p.Ping)
	}
	// The memory queue only exists inside standalone, which builds it itself:
	// open refuses kind memory here (open.ErrNoMemoryQueue).
	if r.producer, err = open.Producer(ctx, cfg.Queue, nil); err != nil {
		return nil, errors.Join(err, r.store.Close(), r.rk.close())
	}
	d := logicDeps{store: r.store, producer: r.producer, rk: r.rk, health: r.health}
	if r.logic, err = newLogicNode(cfg, log, d); err != nil {
		return nil, errors.Join(err, r.producer.Close(), r.store.Close(), r.rk.close())
	}
	if err := r.logic.serve(d); err != nil {
		return nil, errors.Join(err, closeAuth(r.logic.auth), r.producer.Close(), r.store.Close(), r.rk.close())
	}
	r.health.SetStarted()
	log.Info("logic serving", "http", r.logic.httpAddr, "rpc", r.logic.rpcAddr)
	return r, nil
}

// stop: deregister (edges move their calls to other logic nodes), drain
// delay, stop HTTP (no new pushes; in-flight ones finish and are queued),
// stop RPC, then close the queue producer, store and registry.
func (r *logicRole) stop(ctx context.Context) error {
	st := &steps{log: r.log}
	r.health.SetDraining()
	st.do("logic deregister", func() error { return r.logic.reg.deregister(ctx) })
	st.do("logic drain delay", func() error { return sleepCtx(ctx, r.cfg.Shutdown.DrainDelay) })
	st.do("logic stop http", func() error { return r.logic.stopHTTP(ctx) })
	st.do("logic stop rpc", func() error { return r.logic.stopRPC(ctx) })
	st.do("auth close", func() error { return closeAuth(r.logic.auth) })
	st.do("queue close", r.producer.Close)
	st.do("store close", r.store.Close)
	st.do("registry close", r.rk.close)
	return st.err()
}
