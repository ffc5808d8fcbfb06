// Package edge is goim's "comet": it holds device connections (raw TCP on
// netpoll, WebSocket on Hertz), authenticates them through logic, keeps
// them alive with heartbeats, and delivers the pushes job sends through
// the Kitex Edge service. The wire protocol is goim v2's (see
// docs/protocol.md); state is sharded into buckets so connects,
// disconnects and room fan-out do not contend.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/cloudwego/netpoll"

	"github.com/goim-edge/goim-edge/internal/serving"
	"github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/registry"
)

// Server is one edge node.
type Server struct {
	cfg    Config
	logic  logic.Client
	log    *slog.Logger
	shards shards
	ips    *ipCounter
	admit  *admission
	// upSlots bounds upstream messages being forwarded to logic at once
	// (UpstreamParallel).
	upSlots chan struct{}
	wheel   *wheel
	handler *Handler

	sessions atomic.Int64
	// open counts open device connections, authenticated or not, against
	// MaxConnections.
	open     atomic.Int64
	draining atomic.Bool
	// drainCh is closed (drainOnce) when draining begins; ending is set
	// while endSessions runs.
	drainCh   chan struct{}
	drainOnce sync.Once
	ending    atomic.Bool
	// closing is set once Shutdown begins: listener errors are expected.
	closing atomic.Bool
	// allRooms is the cluster-wide room counts from the last RenewOnline.
	allRooms atomic.Pointer[map[string]int32]
	// epoch is the route store's generation as logic names it; see
	// restore.go.
	epoch epochWatch

	stop     chan struct{}
	stopOnce sync.Once
	loops    sync.WaitGroup // wheel, online, ping, paced broadcasts
	bg       sync.WaitGroup // calls to logic made on behalf of sessions
	logicSem chan struct{}  // bounds those calls

	mu      sync.Mutex
	started bool
	addrs   registry.Addrs
	tcpLoop netpoll.EventLoop
	tcpLn   net.Listener
	ws, wss *wsPort        // goim's WebSocket port and its TLS twin
	rpc     *serving.Kitex // the Edge service, once started
}

// Stats is the edge's load, published in the registry.
type Stats struct {
	Conns    int  // authenticated connections
	IPs      int  // distinct client IPs among them
	Rooms    int  // rooms with members here
	Draining bool // Drain or Shutdown has begun
}

// logicParallel bounds background calls to logic (route renewals and
// disconnects), so a mass disconnect cannot open thousands of RPCs.
const logicParallel = 64

// New builds an edge that authenticates through logicClient (a Kitex
// client the caller configures with its resolver and timeouts).
func New(cfg Config, logicClient logic.Client) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logicClient == nil {
		return nil, errors.New("edge: logic client is nil")
	}
	s := &Server{
		cfg:      cfg,
		logic:    logicClient,
		log:      slog.Default(),
		shards:   newShards(cfg.Buckets),
		ips:      newIPCounter(cfg.Buckets),
		admit:    newAdmission(cfg),
		upSlots:  make(chan struct{}, cfg.UpstreamParallel),
		wheel:    newWheel(cfg.TimerTick),
		stop:     make(chan struct{}),
		logicSem: make(chan struct{}, logicParallel),
	}
	s.epoch.kick = make(chan struct{}, 1)
	s.drainCh = make(chan struct{})
	s.handler = &Handler{srv: s}
	return s, nil
}

// WithLogger sets the logger (nil: slog.Default()); call it before Start.
func (s *Server) WithLogger(l *slog.Logger) *Server {
	if l == nil {
		l = slog.Default()
	}
	s.log = l
	return s
}

// Handler is the Kitex Edge service implementation; Start serves it on
// RPCAddr, and callers may register it elsewhere too.
func (s *Server) Handler() *Handler { return s.handler }

// Config returns the configuration the server runs with.
func (s *Server) Config() Config { return s.cfg }

// Start listens on every configured address (":0" picks a free port; see
// Addrs) and serves until Shutdown.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("edge: already started")
	}
	// Bind every port before serving any, so a busy port fails Start
	// with its own error and leaves nothing running behind it.
	var err error
	defer func() {
		if err != nil {
			if s.rpc != nil {
				s.rpc.Abandon() // Run stops the server whenever it gets there
				s.rpc = nil
			}
			s.closeListenersLocked()
			s.tcpLn, s.tcpLoop, s.ws, s.wss = nil, nil, nil, nil
		}
	}()
	if s.cfg.TCPAddr != "" {
		if err = s.listenTCP(); err != nil {
			return err
		}
	}
	if s.cfg.WSAddr != "" {
		if s.ws, err = s.listenWS("websocket", s.cfg.WSAddr, nil); err != nil {
			return err
		}
		s.addrs.WS = s.ws.ln.Addr().String()
	}
	if s.cfg.WSSAddr != "" {
		var certs *certFiles
		if certs, err = loadCertFiles(s.cfg.TLSCertFile, s.cfg.TLSKeyFile, s.log); err != nil {
			return err
		}
		if s.wss, err = s.listenWS("websocket tls", s.cfg.WSSAddr, certs); err != nil {
			return err
		}
		s.addrs.WSS = s.wss.ln.Addr().String()
	}
	if s.cfg.RPCAddr != "" {
		if err = s.startRPC(); err != nil {
			return err
		}
	}
	if s.tcpLoop != nil {
		s.serveTCP()
	}
	for _, p := range []*wsPort{s.ws, s.wss} {
		if p != nil {
			if err = p.serve(s); err != nil {
				return err
			}
		}
	}
	s.started = true
	s.loops.Add(3)
	go func() { defer s.loops.Done(); s.wheel.run(s.stop) }()
	go func() { defer s.loops.Done(); s.renewOnlineLoop() }()
	go func() { defer s.loops.Done(); s.epochLoop() }()
	if (s.ws != nil || s.wss != nil) && s.cfg.WSPingInterval > 0 {
		s.loops.Add(1)
		go func() { defer s.loops.Done(); s.pingLoop() }()
	}
	s.log.Info("edge: started", "node", s.cfg.Node, "tcp", s.addrs.TCP, "ws", s.addrs.WS, "wss", s.addrs.WSS, "rpc", s.addrs.RPC)
	return nil
}

// Addrs are the bound addresses (real ports when configured with :0).
func (s *Server) Addrs() registry.Addrs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs
}

// Stats counts connections, client IPs and rooms.
func (s *Server) Stats() Stats {
	rooms := 0
	for _, b := range s.shards.buckets {
		b.mu.RLock()
		rooms += len(b.rooms)
		b.mu.RUnlock()
	}
	return Stats{
		Conns:    int(s.sessions.Load()),
		IPs:      s.ips.distinct(),
		Rooms:    rooms,
		Draining: s.draining.Load(),
	}
}

// Shutdown stops taking connections, closes the ones it holds (their
// routes are removed in logic), lets in-flight RPCs finish and waits for
// background work until ctx ends.
//
// Shutdown alone closes the sessions at once, without a goodbye; to drain
// gracefully, call Handler.Drain (or BeginDrain and wait for the sessions
// to go) first, while the RPC service still serves pushes.
func (s *Server) Shutdown(ctx context.Context) error {
	s.BeginDrain()
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, sess := range s.wheel.all() {
		sess.close("shutdown")
	}
	if s.tcpLoop != nil {
		if err := s.tcpLoop.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("edge: stop tcp: %w", err))
		}
		s.tcpLoop = nil
	}
	for _, p := range []*wsPort{s.ws, s.wss} {
		if p != nil {
			if err := p.shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("edge: stop %s: %w", p.name, err))
			}
		}
	}
	s.ws, s.wss = nil, nil
	if s.rpc != nil {
		if err := s.rpc.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("edge: %w", err))
		}
		s.rpc = nil
	}
	s.closeListenersLocked()
	s.stopOnce.Do(func() { close(s.stop) })
	done := make(chan struct{})
	go func() { s.loops.Wait(); s.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("edge: shutdown: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// closeListenersLocked closes the bound ports (Shutdown, or a Start that
// failed before serving them).
func (s *Server) closeListenersLocked() {
	if s.tcpLn != nil {
		_ = s.tcpLn.Close()
	}
	for _, p := range []*wsPort{s.ws, s.wss} {
		if p != nil {
			_ = p.ln.Close()
		}
	}
}

func (s *Server) bucketFor(key string) *bucket { return s.shards.of(key) }

// joinRoom adds sess to room id, creating it if needed.
func (s *Server) joinRoom(id string, sess *session) *room {
	b := s.shards.of(id)
	for {
		r := b.room(s, id, true)
		if r.add(sess) {
			return r
		}
	}
}

// room returns the room if it has members here.
func (s *Server) room(id string) *room { return s.shards.of(id).room(s, id, false) }

// roomOnline is the heartbeat count for r: cluster-wide when known, never
// less than the members here (the cluster figure lags a report).
func (s *Server) roomOnline(r *room) int32 {
	n := int32(r.count())
	if m := s.allRooms.Load(); m != nil {
		if c := (*m)[r.id]; c > n {
			n = c
		}
	}
	return n
}

func (s *Server) sessionOpened(sess *session) {
	s.sessions.Add(1)
	sessionsGauge.Inc()
	s.ips.add(sess.ip())
}

func (s *Server) sessionClosed(sess *session) {
	s.sessions.Add(-1)
	sessionsGauge.Dec()
	s.ips.remove(sess.ip())
}

// sessionsSnapshot lists every authenticated session.
func (s *Server) sessionsSnapshot() []*session {
	out := make([]*session, 0, s.sessions.Load())
	for _, b := range s.shards.buckets {
		out = b.snapshot(out)
	}
	return out
}
