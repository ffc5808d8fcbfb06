package config

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/goim-edge/goim-edge/config/secret"
)

// TestPlaceholderSecretsRefused: a placeholder in a secret setting, from
// the file, the environment or a flag, fails Load (and so `config check`
// and every role's start) with a message naming the key.
func TestPlaceholderSecretsRefused(t *testing.T) {
	tests := []struct {
		name    string
		opts    func(t *testing.T) Options
		wantErr string
	}{
		{
			name: "api_key in the file",
			opts: func(t *testing.T) Options {
				return Options{File: writeFile(t, "[logic.http]\napi_key = \"change-me\"\n")}
			},
			wantErr: `logic.http.api_key is the placeholder "change-me": set a real secret (e.g. openssl rand -hex 32)`,
		},
		{
			name:    "api_key from the environment",
			opts:    func(*testing.T) Options { return Options{Environ: []string{"GOIM_LOGIC_HTTP_API_KEY=changeme"}} },
			wantErr: `logic.http.api_key is the placeholder "changeme"`,
		},
		{
			name:    "api_key from a flag",
			opts:    func(*testing.T) Options { return Options{Sets: []string{"logic.http.api_key=password"}} },
			wantErr: `logic.http.api_key is the placeholder "password"`,
		},
		{
			name:    "redis password",
			opts:    func(*testing.T) Options { return Options{Sets: []string{"store.redis.password=secret"}} },
			wantErr: `store.redis.password is the placeholder "secret"`,
		},
		{
			name: "webhook at an example host",
			opts: func(*testing.T) Options {
				return Options{Sets: []string{"auth.mode=webhook", "auth.webhook.url=https://auth.example.com/goim"}}
			},
			wantErr: "auth.webhook.url \"https://auth.example.com/goim\" points at the placeholder host auth.example.com",
		},
		{
			name: "webhook with a placeholder password",
			opts: func(*testing.T) Options {
				return Options{Sets: []string{"auth.mode=webhook", "auth.webhook.url=https://goim:change-me@auth.internal/goim"}}
			},
			wantErr: `auth.webhook.url password is the placeholder "change-me"`,
		},
		{
			name:    "receive hook token",
			opts:    func(*testing.T) Options { return Options{Environ: []string{"GOIM_LOGIC_RECEIVE_TOKEN=<your-token>"}} },
			wantErr: `logic.receive.token is the placeholder "<your-token>"`,
		},
		{
			name: "jwks at an example host",
			opts: func(*testing.T) Options {
				return Options{Sets: []string{"auth.mode=jwt", "auth.jwt.alg=RS256", "auth.jwt.jwks_url=https://example.org/jwks.json"}}
			},
			wantErr: "auth.jwt.jwks_url \"https://example.org/jwks.json\" points at the placeholder host example.org",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.opts(t))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	_, err := Load(Options{Sets: []string{"logic.http.api_key=change-me"}})
	var pe *secret.PlaceholderError
	if !errors.As(err, &pe) || pe.Key != "logic.http.api_key" {
		t.Fatalf("error %v is not a PlaceholderError naming the key", err)
	}
}

// TestRealSecretsAccepted: real values, and empty optional secrets, load.
func TestRealSecretsAccepted(t *testing.T) {
	for _, sets := range [][]string{
		nil,
		{"logic.http.api_key=3f1c0e9b7a5d42e8b6c4a2f0e1d3c5b7"},
		{"auth.mode=webhook", "auth.webhook.url=http://10.0.0.30:8080/goim/auth"},
		{"auth.mode=jwt", "auth.jwt.alg=RS256", "auth.jwt.key_file=/etc/goim-edge/jwt-public.pem"},
	} {
		if _, err := Load(Options{Sets: sets}); err != nil {
			t.Errorf("%v: %v", sets, err)
		}
	}
}

// TestAdminAddrsDefaultToLoopback: /readyz and /metrics take no
// credential, so no role's default admin address reaches beyond the host.
func TestAdminAddrsDefaultToLoopback(t *testing.T) {
	c := Default()
	for key, a := range map[string]string{
		"edge.admin_addr": c.Edge.AdminAddr, "logic.admin_addr": c.Logic.AdminAddr, "job.admin_addr": c.Job.AdminAddr,
	} {
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			t.Errorf("%s defaults to %q, want a loopback address", key, a)
		}
	}
}
