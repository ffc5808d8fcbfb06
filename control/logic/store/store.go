// Package store keeps who is where: device routes (mid → key → edge) and
// per-edge room counts aggregated into cluster totals. Redis for clusters,
// memory for standalone; both pass the same suite.
//
// A store also names its generation (Epoch): a value that stays the same
// for as long as the store keeps its data and changes when the data is
// lost (a Redis restarted without persistence, a FLUSHALL, an evicted
// epoch key). Edges watch it through logic and re-register the routes
// they hold when it changes (RestoreRoutes).
package store

import (
	"context"
	"time"
)

// Route says which edge holds a device connection.
type Route struct {
	Mid    int64
	Key    string
	Server string
}

// Online is what one edge reported about its connections.
type Online struct {
	Server    string
	RoomCount map[string]int32 // room id "type://id" → members on that edge
	ConnCount int32
	IPCount   int32
	Updated   time.Time
}

// Store is logic's state. Every method is safe for concurrent use. Bad
// arguments (empty key or server, non-positive ttl) give an error wrapping
// ErrInvalid; any other error is an outage of the backing service, and the
// store works again once it is back. Expired routes and reports are never
// returned.
type Store interface {
	// AddRoute records that key (of mid) is connected to server, expiring
	// after ttl unless renewed. A newer AddRoute for the key replaces it.
	AddRoute(ctx context.Context, r Route, ttl time.Duration) error
	// RenewRoute extends the route's ttl if it still points at r.Server
	// for r.Mid; it never creates a route (a missing one needs AddRoute).
	RenewRoute(ctx context.Context, r Route, ttl time.Duration) error
	// DelRoute removes the route only if it still points at r.Server, so a
	// late Disconnect from an old edge cannot erase a newer route. It
	// reports whether it removed anything.
	DelRoute(ctx context.Context, r Route) (bool, error)
	// ServersByKeys maps each known key to its edge; unknown keys are absent.
	ServersByKeys(ctx context.Context, keys []string) (map[string]string, error)
	// MidsByKeys maps each known key to the user (mid) of its route;
	// unknown keys are absent. Logic uses it to find the user streams of
	// a push by key when user history is on (control/logic/history).
	MidsByKeys(ctx context.Context, keys []string) (map[string]int64, error)
	// KeysByMids maps each key of the given users to its edge.
	KeysByMids(ctx context.Context, mids []int64) (map[string]string, error)
	// PutOnline stores one edge's report; it ages out after ttl unless
	// renewed, so a dead edge's counts disappear.
	PutOnline(ctx context.Context, o Online, ttl time.Duration) error
	// RoomCounts is the cluster-wide member count of every non-empty room.
	RoomCounts(ctx context.Context) (map[string]int64, error)
	// Totals is the cluster-wide connection and IP count.
	Totals(ctx context.Context) (conns, ips int64, err error)
	// Epoch is the store's generation: non-empty, the same on every call
	// while the store keeps its data, and a new value (never seen before)
	// once the data was lost. The Redis store keeps it in a key created
	// at random when missing (SET NX); the memory store's lasts as long
	// as the process.
	Epoch(ctx context.Context) (string, error)
	// RestoreRoutes re-adds routes an edge still holds after the store lost
	// them. Each is written only if its key has no route or already points
	// at the route's server, so a newer connection of the key on another
	// edge is never overwritten; it reports how many were written.
	RestoreRoutes(ctx context.Context, routes []Route, ttl time.Duration) (int, error)
	// Close releases the store's connections; the store is unusable after.
	Close() error
}
