// Package secret refuses secret settings that are not secrets: the
// placeholders example configs and manifests ship ("change-me",
// "password", "<your-key>") and, where a secret is required, an empty
// value. Every role checks its secrets with it before serving, so a
// deployment copied as shipped fails at start with a message naming the
// key, instead of running with a credential anyone can read in the
// repository.
//
// The rule is deliberately narrow: a value is a placeholder when, ignoring
// case and every character but letters and digits, it is one of a few
// well-known words, contains "changeme", "replaceme", "placeholder" or
// "example", or is one character repeated. A random secret (openssl rand
// -hex 32) never matches.
package secret

import (
	"fmt"
	"strings"
)

// Hint is how the errors suggest making a real secret.
const Hint = "set a real secret (e.g. openssl rand -hex 32)"

// PlaceholderError is a secret setting holding a placeholder value.
type PlaceholderError struct {
	// Key names the setting ("logic.http.api_key").
	Key string
	// Value is the placeholder, which is public (it is in the examples);
	// long values are shortened.
	Value string
}

func (e *PlaceholderError) Error() string {
	return fmt.Sprintf("%s is the placeholder %q: %s", e.Key, e.Value, Hint)
}

// MissingError is a required secret setting left empty.
type MissingError struct {
	// Key names the setting.
	Key string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s is empty: %s", e.Key, Hint)
}

// words are placeholders as a whole (after normalising).
var words = map[string]bool{
	"secret": true, "password": true, "passwd": true, "pass": true,
	"apikey": true, "key": true, "token": true, "test": true, "testing": true,
	"default": true, "admin": true, "todo": true, "tbd": true, "fixme": true,
	"none": true, "null": true, "nil": true, "empty": true, "unset": true,
	"mysecret": true, "secretkey": true, "yoursecret": true, "yourkey": true,
	"yourapikey": true, "yourtoken": true, "yourpassword": true, "insecure": true,
	"123456": true, "12345678": true, "qwerty": true,
}

// fragments make a value a placeholder wherever they appear in it.
var fragments = []string{"changeme", "replaceme", "placeholder", "example", "yoursecret", "yourapikey"}

// IsPlaceholder reports whether v is a placeholder rather than a secret;
// "" is not one (see Require).
func IsPlaceholder(v string) bool {
	if strings.TrimSpace(v) == "" {
		return false
	}
	n := normalise(v)
	if n == "" || words[n] {
		return true // only punctuation ("...", "<>"), or a well-known word
	}
	for _, f := range fragments {
		if strings.Contains(n, f) {
			return true
		}
	}
	return strings.Count(n, n[:1]) == len(n) // "xxxxxxxx", "00000000"
}

// normalise lower-cases v and keeps letters and digits only, so
// "Change-Me", "CHANGE_ME" and "<change me>" are all "changeme".
func normalise(v string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(v) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Check refuses a placeholder in the optional secret setting key; an empty
// value passes (the setting is off).
func Check(key, value string) error {
	if IsPlaceholder(value) {
		return &PlaceholderError{Key: key, Value: shorten(strings.TrimSpace(value))}
	}
	return nil
}

// Require refuses an empty value or a placeholder in the required secret
// setting key.
func Require(key, value string) error {
	if strings.TrimSpace(value) == "" {
		return &MissingError{Key: key}
	}
	return Check(key, value)
}

// shorten keeps an error readable when the placeholder is long.
func shorten(v string) string {
	const max = 40
	if r := []rune(v); len(r) > max {
		return string(r[:max]) + "..."
	}
	return v
}
