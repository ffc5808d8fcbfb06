package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// tokenMid is the json token's mid. goim reads it as a JSON number; some
// goim clients (goim-example's browser client, for one) send it as a
// string ("123"). Both spell the same user, so both are taken; anything
// else is refused:
//
//   - a number must be an integer that fits int64 (1.5, 1e3 and
//     9223372036854775808 are refused, as in goim); negative numbers
//     stay accepted as goim accepts them;
//   - a string must be canonical decimal digits: no sign, no spaces, no
//     leading zero (except "0" itself), at most int64's range, so each
//     mid has exactly one string spelling;
//   - null or a missing mid is the anonymous mid 0, as before.
type tokenMid int64

// errMidString says what a string mid must look like.
var errMidString = errors.New(`mid string must be decimal digits without sign or leading zeros`)

// UnmarshalJSON takes a JSON integer or a string of decimal digits.
func (m *tokenMid) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("mid: empty")
	}
	switch b[0] {
	case 'n':
		return nil // null: json.Unmarshal's convention, leaves 0
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("mid: %w", err)
		}
		if !canonicalDigits(s) {
			return fmt.Errorf("mid %q: %w", s, errMidString)
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("mid %q: out of range", s)
		}
		*m = tokenMid(v)
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("mid %s: not an int64", b)
	}
	*m = tokenMid(v)
	return nil
}

// canonicalDigits reports whether s is "0" or ASCII digits not starting
// with 0.
func canonicalDigits(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
