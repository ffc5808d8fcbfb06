package httpapi

// Config is the HTTP push API's access control. Its limits (body size,
// keys or mids per push) are logic's, the same for HTTP and Kitex: see
// logic.Limits.
type Config struct {
	// APIKey, when set, must be presented as "Authorization: Bearer <key>"
	// on every route except /goim/nodes/weighted (which devices call).
	// When empty the routes are open, and main binds the API to loopback
	// unless told otherwise.
	APIKey string `toml:"api_key"`
}

// DefaultConfig returns no API key.
func DefaultConfig() Config {
	return Config{}
}
