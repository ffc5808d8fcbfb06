package store

import (
	"crypto/rand"
	"encoding/hex"
)

// NewEpoch is a fresh store generation: 128 random bits in hex, so a
// store that lost its data never comes back with an epoch anyone has
// seen before.
func NewEpoch() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
