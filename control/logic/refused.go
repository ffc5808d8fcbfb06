package logic

import (
	"errors"

	"github.com/goim-edge/goim-edge/kitex_gen/logic"
)

// refused is Connect's answer to a token authentication refused: the IDL
// exception logic.AuthRefused, which reaches a Kitex client as that type
// (and an in-process caller as itself), so no caller has to read an
// error's text to tell a bad token from an outage.
func refused(err error) error { return &logic.AuthRefused{Reason: err.Error()} }

// IsRefused reports whether err, as returned by Connect locally or through
// a Kitex client, is an authentication refusal rather than an outage: an
// edge closes the connection either way, but counts them apart and only
// an outage says anything about logic's health.
func IsRefused(err error) bool {
	var r *logic.AuthRefused
	return errors.As(err, &r)
}
