package rpcauth

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Reasons a call is refused, the reason label of
// goim_rpc_auth_refused_total.
const (
	// ReasonMissing: the call carried no secret (a client built without
	// ClientOptions, or with an empty secret).
	ReasonMissing = "missing"
	// ReasonWrong: the call carried a secret that is not accepted.
	ReasonWrong = "wrong"
)

// keys are the SHA-256 digests of the accepted secrets.
type keys struct {
	digests [][sha256.Size]byte
}

// newKeys accepts secret and previous; empty strings are skipped.
func newKeys(secret string, previous []string) *keys {
	k := &keys{}
	for _, s := range append([]string{secret}, previous...) {
		if s != "" {
			k.digests = append(k.digests, sha256.Sum256([]byte(s)))
		}
	}
	return k
}

// check returns "" when presented is accepted, else the refusal reason.
// Its time depends on the number of accepted secrets, not on which one
// matches nor on how much of one matches; a value longer than
// MaxSecretLen is refused without being hashed.
func (k *keys) check(presented string) string {
	if presented == "" {
		return ReasonMissing
	}
	if len(presented) > MaxSecretLen {
		return ReasonWrong
	}
	d := sha256.Sum256([]byte(presented))
	ok := 0
	for i := range k.digests {
		ok |= subtle.ConstantTimeCompare(d[:], k.digests[i][:])
	}
	if ok == 1 {
		return ""
	}
	return ReasonWrong
}
