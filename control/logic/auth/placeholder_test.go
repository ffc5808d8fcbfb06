package auth

import (
	"errors"
	"strings"
	"testing"

	configsecret "github.com/goim-edge/goim-edge/config/secret"
)

// TestJWTPlaceholderSecretRefused: an HS256 key file holding a
// placeholder, however long, fails the start with a message naming the
// setting and the file.
func TestJWTPlaceholderSecretRefused(t *testing.T) {
	for _, content := range []string{"change-me\n", "change-me-change-me-change-me-change-me", "<your-secret-here-at-least-32-bytes!!>"} {
		cfg := DefaultConfig()
		cfg.Mode = ModeJWT
		cfg.JWT.Alg = "HS256"
		cfg.JWT.KeyFile = writeFile(t, "jwt.key", []byte(content))
		a, err := New(cfg, nil)
		if err == nil {
			_ = a.(interface{ Close() error }).Close()
			t.Fatalf("key file %q accepted", content)
		}
		var pe *configsecret.PlaceholderError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "auth.jwt.key_file "+cfg.JWT.KeyFile+" is the placeholder") {
			t.Fatalf("key file %q: error %v, want a placeholder error naming auth.jwt.key_file", content, err)
		}
	}
}
