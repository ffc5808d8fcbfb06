// Package logic is goim-edge's stateless control service: edges call it
// (Kitex Logic) to authenticate devices and keep routes and online counts;
// app backends call it (goim HTTP API in httpapi, Kitex Push) to push, and
// every push becomes queue messages for job.
//
// Routes survive the loss of the store. The store names its generation
// (store.Store.Epoch: a Redis key created at random when missing, so a
// Redis restarted empty or flushed has a new one; the memory store's is
// fixed for the process's life). Logic caches the epoch for
// Config.EpochRefresh and sends it in every Connect, Heartbeat,
// RenewOnline and Epoch answer. An edge that sees a new epoch reports its
// room counts at once and re-registers every route it holds through
// Restore, in pages and paced by the edge. Restore guarantees:
//   - it never overwrites a route that points at another edge (a newer
//     connection of the same key elsewhere): it writes a route only where
//     the key has none, or one to the calling edge;
//   - its answer names the epoch read after the page was written, so an
//     edge restoring into an epoch that was lost again (or that a
//     lagging logic reported) learns it and starts over or stops;
//   - epochs are 128 random bits: a superseded epoch never comes back.
//
// Between the loss and the restore of a device's route (about
// EpochRefresh plus the edge's epoch_interval, plus the edge's pacing),
// pushes by key or mid to that device find no route: they are answered
// and counted as unknown targets, as for a device that is offline. Room
// pushes are unaffected (they do not use routes).
package logic

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/history"
	"github.com/goim-edge/goim-edge/control/logic/store"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/kitex_gen/logic"
	"github.com/goim-edge/goim-edge/kitex_gen/push"
	"github.com/goim-edge/goim-edge/registry"
)

// Deps are the parts logic is built from; main chooses their kinds.
type Deps struct {
	Store store.Store
	Queue queue.Producer
	Auth  auth.Authenticator
	// Discovery finds edges for the /goim/nodes routes; nil answers them
	// with no nodes.
	Discovery registry.Discovery
	// History keeps the streams of targets with history on
	// (Config.History); required when any is on, unused otherwise.
	History history.Store
	// Receiver takes upstream device messages; nil builds one from
	// Config.Receive.
	Receiver Receiver
	// Nodes overrides how /goim/nodes/weighted picks edges; nil is the
	// nodes package's weighted selection under Config.Nodes.
	Nodes NodeSelector
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Logic serves edges and pushers. It implements the Kitex services
// kitex_gen/logic.Logic and kitex_gen/push.Push, and its Enqueue*/online
// methods back the HTTP API.
type Logic struct {
	cfg       Config
	store     store.Store
	history   history.Store // nil when Config.History keeps nothing
	queue     queue.Producer
	auth      auth.Authenticator
	discovery registry.Discovery
	receiver  Receiver
	// receiving holds a token per upstream message being handled
	// (Config.Receive.Parallel).
	receiving chan struct{}
	nodes     NodeSelector
	log       *slog.Logger
	now       func() time.Time

	roomsMu    sync.Mutex
	rooms      map[string]int64 // last cluster-wide room counts
	roomsAt    time.Time
	roomsFresh time.Duration

	epoch epochCache // the store's generation; see restore.go

	resumeReads coalescer[*logic.ResumedStream] // identical concurrent resume reads share one
}

var (
	_ logic.Logic = (*Logic)(nil)
	_ push.Push   = (*Logic)(nil)
)

// New checks cfg and deps and builds the service.
func New(cfg Config, deps Deps) (*Logic, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var missing []string
	if deps.Store == nil {
		missing = append(missing, "store")
	}
	if deps.Queue == nil {
		missing = append(missing, "queue")
	}
	if deps.Auth == nil {
		missing = append(missing, "auth")
	}
	if cfg.History.On() && deps.History == nil {
		missing = append(missing, "history (logic.history keeps streams)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("logic: missing dependencies: %s", strings.Join(missing, ", "))
	}
	l := &Logic{
		cfg:        cfg,
		store:      deps.Store,
		history:    deps.History,
		queue:      deps.Queue,
		auth:       deps.Auth,
		discovery:  deps.Discovery,
		receiver:   deps.Receiver,
		receiving:  make(chan struct{}, cfg.Receive.Parallel),
		nodes:      deps.Nodes,
		log:        deps.Logger,
		now:        time.Now,
		roomsFresh: time.Second,
	}
	l.resumeReads.hold = resumeHold
	if l.log == nil {
		l.log = slog.Default()
	}
	l.log = l.log.With("component", "logic")
	if l.nodes == nil {
		l.nodes = NewNodeSelector(cfg.nodes())
	}
	if l.receiver == nil {
		r, err := NewReceiver(cfg.Receive, l.log)
		if err != nil {
			return nil, err
		}
		l.receiver = r
	}
	return l, nil
}

// Config is the configuration the service runs with.
func (l *Logic) Config() Config { return l.cfg }

// callCtx bounds one dependency call by Config.CallTimeout.
func (l *Logic) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.cfg.CallTimeout)
}
