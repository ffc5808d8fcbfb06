package job

import (
	"errors"
	"fmt"
	"time"
)

// Room targeting modes (Config.RoomTargeting).
const (
	// TargetAll sends room messages to every edge, as goim does. It never
	// misses a member, at the cost of one RPC per edge per message.
	TargetAll = "all"
	// TargetMembers sends room messages only to edges whose last Rooms
	// report (polled every RoomsRefresh) lists members of the room, plus
	// every edge whose report is missing or stale. A device that joins a
	// room on an edge that had no member of it may miss that room's
	// messages until the next poll (at most RoomsRefresh).
	TargetMembers = "members"
)

// Config is job's fan-out behaviour towards edges.
type Config struct {
	// RPCTimeout bounds one RPC attempt to an edge, so a hung edge costs
	// at most this per attempt (goim has no deadline and stalls).
	RPCTimeout time.Duration `toml:"rpc_timeout"`
	// ConnectTimeout bounds dialing an edge.
	ConnectTimeout time.Duration `toml:"connect_timeout"`
	// RPCSecret is sent with every call to an edge (package rpcauth).
	// The process sets it from [rpc]; it is not a [job] key.
	RPCSecret string `toml:"-"`
	// Retries is how many times a failed RPC is retried before the edge is
	// marked down (breaker open). The message is not given up on: it was
	// parked at its first failure and stays in the edge's outbox until the
	// edge answers a trial (see EdgeGrace for how long).
	Retries int `toml:"retries"`
	// RetryBackoff is the wait before the first retry; it doubles for every
	// further retry (with jitter), up to MaxRetryBackoff.
	RetryBackoff time.Duration `toml:"retry_backoff"`
	// MaxRetryBackoff caps the wait between retries.
	MaxRetryBackoff time.Duration `toml:"max_retry_backoff"`
	// MaxInflightPerEdge is how many RPCs job keeps in flight to one edge
	// (goim's routine_size). Each is a lane served in order: messages for
	// one room, one key list or all broadcasts keep their order on an edge.
	MaxInflightPerEdge int `toml:"max_inflight_per_edge"`
	// EdgeQueue is how many messages may wait for one edge, in all its
	// lanes: its outbox (goim's routine_chan × routine_size). While the
	// edge answers, a message that finds the outbox full waits for room
	// (back pressure, nothing dropped); while it is down, such a message
	// is lost for that edge (goim_job_lost_total{reason="outbox_full"}).
	EdgeQueue int `toml:"edge_queue"`
	// EdgeQueueBytes bounds the memory of one edge's outbox: the bodies
	// (and keys) of the messages waiting for it. Beyond it the outbox is
	// full as with EdgeQueue; a message alone in the outbox always fits.
	EdgeQueueBytes int64 `toml:"edge_queue_bytes"`
	// RoomCoalesceWindow is how long a lane waits for more messages of the
	// same room to send them in one PushRoom. 0 sends at once: messages
	// that are already queued behind each other are still coalesced (that
	// costs no latency), but a lane never waits for more. The edge batches
	// busy rooms itself, so 0 is the default.
	RoomCoalesceWindow time.Duration `toml:"room_coalesce_window"`
	// RoomBatchMax caps the messages of one PushRoom; 1 disables coalescing.
	RoomBatchMax int `toml:"room_batch_max"`
	// RoomTargeting is TargetAll (default: correct first) or TargetMembers.
	RoomTargeting string `toml:"room_targeting"`
	// RoomsRefresh is how often each edge's Rooms report is polled when
	// RoomTargeting is TargetMembers; a report older than three refreshes
	// is stale and the edge is targeted regardless.
	RoomsRefresh time.Duration `toml:"rooms_refresh"`
	// BreakerFailures is how many consecutive failed RPCs mark an edge as
	// down (so does one message failing Retries+1 attempts). Messages for
	// a down edge are parked in its outbox at once (no handler waits on a
	// hung edge); one trial RPC every ProbeInterval tests it, and its
	// success brings the edge back and sends the outbox, in order.
	BreakerFailures int `toml:"breaker_failures"`
	// ProbeInterval is how often a down edge gets a trial message.
	ProbeInterval time.Duration `toml:"probe_interval"`
	// SlowCall is how long a successful push RPC may take before it
	// counts towards the breaker like a failure, provided another edge
	// answers faster than SlowCall on average: a slow edge holds every
	// queue message it is part of, so after BreakerFailures slow calls in
	// a row it is down and costs only its own devices. When every edge is
	// slow (job starved, a burst) nothing is counted: that slowness is not
	// one edge's, and breakers would turn it into lost pushes everywhere.
	// 0 disables it.
	SlowCall time.Duration `toml:"slow_call"`
	// EdgeGrace is how long an edge that left the registry stays a push
	// target: a registration that lapsed (etcd stalled past the lease)
	// comes back within it, and nothing addressed to the edge is dropped
	// in between. Keys pushes for an edge job has never seen wait up to
	// EdgeGrace after job's first complete view of the edges for it to
	// appear. 0 removes edges at once.
	EdgeGrace time.Duration `toml:"edge_grace"`
	// How many messages are fanned out at once is the queue's
	// delivery.workers: consumers call the handler from that many lanes,
	// each keeping its targets' order, and job keeps no pool of its own.
}

// DefaultConfig returns goim-like defaults (32 routines of 1024 messages per
// comet), with the deadlines goim lacks.
func DefaultConfig() Config {
	return Config{
		RPCTimeout:         time.Second,
		ConnectTimeout:     500 * time.Millisecond,
		Retries:            2,
		RetryBackoff:       20 * time.Millisecond,
		MaxRetryBackoff:    500 * time.Millisecond,
		MaxInflightPerEdge: 32,
		EdgeQueue:          1024 * 32,
		EdgeQueueBytes:     64 << 20,
		RoomCoalesceWindow: 0,
		RoomBatchMax:       32,
		RoomTargeting:      TargetAll,
		RoomsRefresh:       time.Second,
		BreakerFailures:    5,
		ProbeInterval:      time.Second,
		SlowCall:           250 * time.Millisecond,
		EdgeGrace:          30 * time.Second,
	}
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %v must be positive", name, d))
		}
	}
	atLeast := func(name string, v, min int) {
		if v < min {
			errs = append(errs, fmt.Errorf("%s %d must be at least %d", name, v, min))
		}
	}
	positive("rpc_timeout", c.RPCTimeout)
	positive("connect_timeout", c.ConnectTimeout)
	positive("retry_backoff", c.RetryBackoff)
	positive("max_retry_backoff", c.MaxRetryBackoff)
	positive("probe_interval", c.ProbeInterval)
	atLeast("retries", c.Retries, 0)
	atLeast("max_inflight_per_edge", c.MaxInflightPerEdge, 1)
	atLeast("edge_queue", c.EdgeQueue, c.MaxInflightPerEdge)
	atLeast("room_batch_max", c.RoomBatchMax, 1)
	if c.EdgeQueueBytes <= 0 {
		errs = append(errs, fmt.Errorf("edge_queue_bytes %d must be positive", c.EdgeQueueBytes))
	}
	atLeast("breaker_failures", c.BreakerFailures, 1)
	if c.EdgeGrace < 0 {
		errs = append(errs, fmt.Errorf("edge_grace %v must not be negative", c.EdgeGrace))
	}
	if c.SlowCall < 0 {
		errs = append(errs, fmt.Errorf("slow_call %v must not be negative", c.SlowCall))
	}
	if c.RoomCoalesceWindow < 0 {
		errs = append(errs, fmt.Errorf("room_coalesce_window %v must not be negative", c.RoomCoalesceWindow))
	}
	switch c.RoomTargeting {
	case TargetAll:
	case TargetMembers:
		positive("rooms_refresh", c.RoomsRefresh)
	default:
		errs = append(errs, fmt.Errorf("room_targeting %q must be %q or %q", c.RoomTargeting, TargetAll, TargetMembers))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("job: config: %w", err)
	}
	return nil
}

// backoff is the wait before retry number n (1 for the first retry).
func (c Config) backoff(n int) time.Duration {
	d := c.RetryBackoff
	for i := 1; i < n && d < c.MaxRetryBackoff; i++ {
		d *= 2
	}
	return min(d, c.MaxRetryBackoff)
}
