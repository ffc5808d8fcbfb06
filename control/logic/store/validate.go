package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalid marks a call with arguments no store can act on (an empty key
// or server, a non-positive ttl); it is the caller's bug, not an outage.
var ErrInvalid = errors.New("store: invalid argument")

// ValidateRoute checks a route and ttl before any store acts on them, so
// every implementation refuses the same input the same way.
func ValidateRoute(r Route, ttl time.Duration) error {
	if r.Key == "" || r.Server == "" {
		return fmt.Errorf("%w: route of mid %d needs a key and a server (key %q, server %q)", ErrInvalid, r.Mid, r.Key, r.Server)
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: route ttl %v must be positive", ErrInvalid, ttl)
	}
	return nil
}

// ValidateOnline checks an edge report and ttl before any store keeps it.
func ValidateOnline(o Online, ttl time.Duration) error {
	if o.Server == "" {
		return fmt.Errorf("%w: online report needs a server", ErrInvalid)
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: online ttl %v must be positive", ErrInvalid, ttl)
	}
	return nil
}
