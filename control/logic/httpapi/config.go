package httpapi

// Config is the HTTP push API's limits and access control.
type Config struct {
	// MaxBodyBytes is the largest message body a push may carry; larger is
	// a 400. Register raises the Hertz server's MaxRequestBodySize above it
	// when lower, so Hertz does not refuse such a request first (413).
	MaxBodyBytes int `toml:"max_body_bytes"`
	// APIKey, when set, must be presented as "Authorization: Bearer <key>"
	// on every route except /goim/nodes/weighted (which devices call).
	// When empty the routes are open, and main binds the API to loopback
	// unless told otherwise.
	APIKey string `toml:"api_key"`
}

// DefaultConfig returns a 64 KiB body limit and no API key.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 64 << 10}
}
