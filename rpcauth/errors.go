package rpcauth

import (
	"errors"

	"github.com/cloudwego/kitex/pkg/remote"
)

// TypeUnauthenticated is the Thrift application exception type id of a
// refused call (outside Thrift's and Kitex's own ids, 0-21). It is how
// the refusal crosses the wire; callers test it with IsRefused.
const TypeUnauthenticated int32 = 1401

// RefusedError is a call refused for its secret. Servers return it from
// the middleware; Kitex sends it as an application exception of type
// TypeUnauthenticated.
type RefusedError struct {
	// Service is the Kitex service called (Edge, Logic, Push).
	Service string
	// Reason is ReasonMissing or ReasonWrong.
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Reason == ReasonMissing {
		return "rpcauth: " + e.Service + " call refused: no rpc secret (rpc.secret)"
	}
	return "rpcauth: " + e.Service + " call refused: wrong rpc secret (rpc.secret)"
}

// TypeId makes Kitex send the refusal with type id TypeUnauthenticated
// (remote.NewTransError looks for this method).
func (e *RefusedError) TypeId() int32 { return TypeUnauthenticated }

// IsRefused reports whether err is a call refused for its secret: on the
// server side a *RefusedError, on the caller's side the application
// exception Kitex decoded from it. It never looks at the error text.
func IsRefused(err error) bool {
	var re *RefusedError
	if errors.As(err, &re) {
		return true
	}
	var te *remote.TransError
	return errors.As(err, &te) && te.TypeID() == TypeUnauthenticated
}
