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
	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	kitexserver "github.com/cloudwego/kitex/server"

	"github.com/goim-edge/goim-edge/app/demo"
	"github.com/goim-edge/goim-edge/app/obs"
	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/control/logic/httpapi"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/open"
	"github.com/goim-edge/goim-edge/internal/serving"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
	pushclient "github.com/goim-edge/goim-edge/kitex_gen/push/push"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/rpcauth"
	"github.com/goim-edge/goim-edge/tracing"
)

// logicNode is a running logic: the service, its HTTP server (goim API,
// demo page, /healthz) and its Kitex server (Logic + Push). /readyz and
// /metrics are on the role's admin port (logic.admin_addr), not here.
type logicNode struct {
	cfg  *config.Config
	log  *slog.Logger
	l    *logic.Logic
	reg  *registration
	auth auth.Authenticator
	hist history.Store // nil when logic.history keeps nothing

	// Bound by bindLogic, served by serve.
	httpLn, rpcLn net.Listener

	hz  *serving.Hertz
	rpc *serving.Kitex

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

// newLogicNode builds logic on deps, to serve on the ports bindLogic
// bound; serve starts its servers. The caller keeps the listeners until
// serve has served them: closing them is its cleanup's, also when
// newLogicNode or serve fails.
func newLogicNode(cfg *config.Config, log *slog.Logger, d logicDeps, httpLn, rpcLn net.Listener) (_ *logicNode, err error) {
	var undo cleanup
	defer undo.onError(&err)
	a, err := auth.New(cfg.Auth, log)
	if err != nil {
		return nil, err
	}
	undo.push("auth close", func() error { return closeAuth(a) })
	hist, err := openHistory(cfg)
	if err != nil {
		return nil, err
	}
	undo.push("history close", func() error { return closeHistory(hist) })
	l, err := logic.New(cfg.Logic.Config, logic.Deps{
		Store:     d.store,
		History:   hist,
		Queue:     d.producer,
		Auth:      a,
		Discovery: d.rk.disc,
		Logger:    log,
	})
	if err != nil {
		return nil, err
	}
	undo.release() // the node's closeDeps closes auth and history
	return &logicNode{
		cfg: cfg, log: log, l: l, auth: a, hist: hist,
		httpLn: httpLn, rpcLn: rpcLn,
		httpAddr: httpLn.Addr().String(), rpcAddr: rpcLn.Addr().String(),
	}, nil
}

// closeDeps closes what newLogicNode opened for the service: auth (a
// JWKS refresher) and the history store.
func (n *logicNode) closeDeps() error {
	return errors.Join(closeAuth(n.auth), closeHistory(n.hist))
}

// bindLogic takes logic's HTTP and RPC ports without serving them, so a
// busy port fails the start before anything runs or connects. On failure
// nothing stays bound.
func bindLogic(cfg *config.Config, log *slog.Logger) (httpLn, rpcLn net.Listener, err error) {
	var undo cleanup
	defer undo.onError(&err)
	if httpLn, err = listen("logic", "http", httpListenAddr(cfg, log)); err != nil {
		return nil, nil, err
	}
	undo.push("logic http port close", httpLn.Close)
	if rpcLn, err = listen("logic", "rpc", rpcListenAddr(cfg, log, "logic", cfg.Logic.RPCAddr)); err != nil {
		return nil, nil, err
	}
	undo.release()
	return httpLn, rpcLn, nil
}

// serve serves the bound ports and registers the node. On failure the
// servers it started are stopped; the ports are the caller's to close
// (closePorts).
func (n *logicNode) serve(d logicDeps) (err error) {
	var undo cleanup
	defer undo.onError(&err)
	if err := n.serveHTTP(d); err != nil {
		return err
	}
	undo.push("logic stop servers", n.stopServersSoon)
	if err := n.serveRPC(); err != nil {
		return err
	}
	inst := instance(n.cfg, registry.ServiceLogic, n.cfg.Node.ID, registry.Addrs{
		RPC:  advertise(n.cfg, n.rpcAddr),
		HTTP: advertise(n.cfg, n.httpAddr),
	})
	reg, err := register(d.rk.newRegistrar(), inst, n.log)
	if err != nil {
		return err
	}
	n.reg = reg
	undo.release() // stop stops the servers and deregisters
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

func (n *logicNode) serveHTTP(d logicDeps) error {
	maxBody := max(n.cfg.Logic.MaxBodyBytes+4096, 1<<20)
	hz := server.New(
		server.WithListener(n.httpLn),
		server.WithMaxRequestBodySize(maxBody),
		server.WithDisablePrintRoute(true),
		// Shutdown waits for in-flight requests, which call_timeout bounds,
		// but also for idle keep-alive connections: do not wait longer.
		server.WithExitWaitTime(n.cfg.Logic.CallTimeout+500*time.Millisecond),
		server.WithReadTimeout(30*time.Second),
		server.WithIdleTimeout(2*time.Minute),
	)
	httpapi.Register(hz, n.l, n.cfg.Logic.HTTP.Config)
	obs.RegisterLiveness(hz, d.health)
	if n.cfg.Logic.DemoPage {
		if err := demo.Register(hz, demo.Config{WSURL: n.cfg.Logic.DemoWSURL, WSPort: d.demoWSPort}); err != nil {
			return fmt.Errorf("logic: demo page: %w", err)
		}
	}
	s, err := runHertz(hz, n.httpLn, n.log, "logic: http")
	if err != nil {
		return err
	}
	n.hz = s
	return nil
}

func (n *logicNode) serveRPC() error {
	k := serving.NewKitex(n.rpcAddr)
	// rpcauth first: a refused call reaches no other middleware.
	svr := kitexserver.NewServer(append(append(rpcauth.ServerOptions(n.cfg.RPC, registry.ServiceLogic), tracing.KitexServerOptions()...),
		kitexserver.WithListener(n.rpcLn),
		kitexserver.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: registry.ServiceLogic}),
		k.ExitOption(),
		kitexserver.WithExitWaitTime(3*time.Second),
		kitexserver.WithMiddleware(obs.ServerMetrics),
		kitexserver.WithCompatibleMiddlewareForUnary(),
	)...)
	if err := n.l.RegisterKitex(svr); err != nil {
		return fmt.Errorf("logic: rpc: %w", err) // the caller closes the port
	}
	n.rpc = k
	// Ready once the Push service answers a call made with the secret
	// (NodesInstances: read-only, no Redis).
	probe, closeProbe, err := serving.KitexProbe(pushclient.NewServiceInfoForClient(), registry.ServiceLogic, "NodesInstances",
		func() any { return &push.PushNodesInstancesArgs{Req: &push.NodesInstancesReq{}} },
		func() any { return &push.PushNodesInstancesResult{} },
		append(rpcauth.ClientOptions(n.cfg.RPC.Secret), client.WithHostPorts(n.rpcAddr), client.WithRPCTimeout(200*time.Millisecond))...)
	if err != nil {
		k.Abandon()
		return fmt.Errorf("logic: rpc: %w", err)
	}
	defer closeProbe() //nolint:errcheck // a probe client: nothing to report
	return k.Run(svr, "logic: rpc server", probe, func(err error) {
		n.log.Error("logic: rpc server stopped", "addr", n.rpcAddr, "err", err)
	})
}

// stopHTTP stops taking pushes; in-flight requests finish within ctx.
func (n *logicNode) stopHTTP(ctx context.Context) error {
	if n.hz == nil {
		return nil
	}
	err := n.hz.Stop(ctx)
	n.hz = nil
	return err
}

// stopRPC stops the Kitex server (edges' calls and internal pushes);
// in-flight calls finish within its exit wait time.
func (n *logicNode) stopRPC(ctx context.Context) error {
	if n.rpc == nil {
		return nil
	}
	err := n.rpc.Stop(ctx)
	n.rpc = nil
	if err != nil {
		return fmt.Errorf("logic: %w", err)
	}
	return nil
}

// stopServersSoon undoes a start that failed after serving began.
func (n *logicNode) stopServersSoon() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
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
	cfg    *config.Config
	log    *slog.Logger
	health *obs.Health
	logicBase
	producer queue.Producer
	logic    *logicNode
}

// logicBase is what a logic role and standalone open the same way, in the
// same order, before their queues differ: logic's ports, the admin port,
// the registry and the route store.
type logicBase struct {
	httpLn, rpcLn net.Listener
	admin         *adminServer
	rk            *registryKit
	store         store.Store
}

// openLogicBase binds the ports first (a busy one fails at once, before
// any connection; the admin port is served once the API is), then opens
// the registry and the store, each pushed on undo; the store's ping
// becomes a readiness check of health.
func openLogicBase(cfg *config.Config, log *slog.Logger, health *obs.Health, undo *cleanup) (b logicBase, err error) {
	if b.httpLn, b.rpcLn, err = bindLogic(cfg, log); err != nil {
		return b, err
	}
	undo.push("logic ports close", func() error { return closePorts(b.httpLn, b.rpcLn) })
	if b.admin, err = bindAdmin("logic", cfg.Logic.AdminAddr, health, log); err != nil {
		return b, err
	}
	undo.push("admin close", func() error { return b.admin.shutdown(context.Background()) })
	if b.rk, err = openRegistry(cfg, log); err != nil {
		return b, err
	}
	undo.push("registry close", b.rk.close)
	if b.store, err = openStore(cfg); err != nil {
		return b, err
	}
	undo.push("store close", b.store.Close)
	if p, ok := b.store.(interface{ Ping(context.Context) error }); ok {
		health.AddCheck("store", p.Ping)
	}
	return b, nil
}

func startLogicRole(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ node, err error) {
	r := &logicRole{cfg: cfg, log: log, health: obs.NewHealth()}
	var undo cleanup
	defer undo.onError(&err)
	if r.logicBase, err = openLogicBase(cfg, log, r.health, &undo); err != nil {
		return nil, err
	}
	// The memory queue only exists inside standalone, which builds it itself:
	// open refuses kind memory here (open.ErrNoMemoryQueue).
	if r.producer, err = open.Producer(ctx, cfg.Queue, nil, log); err != nil {
		return nil, err
	}
	undo.push("queue close", r.producer.Close)
	d := logicDeps{store: r.store, producer: r.producer, rk: r.rk, health: r.health}
	if r.logic, err = newLogicNode(cfg, log, d, r.httpLn, r.rpcLn); err != nil {
		return nil, err
	}
	undo.push("auth and history close", r.logic.closeDeps)
	if err := r.logic.serve(d); err != nil {
		return nil, err
	}
	undo.release() // stop closes it all
	r.admin.serve(log)
	r.health.SetStarted()
	r.health.Start(log)
	log.Info("logic serving", "http", r.logic.httpAddr, "rpc", r.logic.rpcAddr, "admin", r.admin.addr())
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
	st.do("history close", func() error { return closeHistory(r.logic.hist) })
	st.do("queue close", r.producer.Close)
	st.do("store close", r.store.Close)
	st.do("registry close", r.rk.close)
	st.do("admin close", func() error { return r.admin.shutdown(ctx) })
	r.health.Close()
	return st.err()
}

// closeHistory closes the history store, if any.
func closeHistory(h history.Store) error {
	if h == nil {
		return nil
	}
	return h.Close()
}
