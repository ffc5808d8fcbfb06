package redisconn_test

import (
	"strings"
	"testing"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/redisconn"
	"github.com/goim-edge/goim-edge/tlsclient"
)

// TestTLSAndACL runs the store, the queue and history against a
// redis-server that serves only TLS and knows only one ACL user, and
// checks that a wrong password, a missing user or plain text is refused
// rather than silently degraded.
func TestTLSAndACL(t *testing.T) {
	certs := testenv.NewCerts(t)
	srv := testenv.RedisWith(t, testenv.RedisOptions{TLS: certs, User: "goim", Password: "s3cret-pass"})
	good := redisconn.Config{
		Addr: srv.Addr, Username: "goim", Password: "s3cret-pass",
		TLS: tlsclient.Config{Enabled: true, CAFile: certs.CAFile},
	}
	for _, tc := range []struct {
		name    string
		edit    func(c *redisconn.Config)
		wantErr string // "": works end to end
	}{
		{"tls and acl user", func(*redisconn.Config) {}, ""},
		{"client certificate", func(c *redisconn.Config) { c.TLS.CertFile, c.TLS.KeyFile = certs.ClientCert, certs.ClientKey }, ""},
		{"wrong password", func(c *redisconn.Config) { c.Password = "wrong" }, "WRONGPASS"},
		{"default user is off", func(c *redisconn.Config) { c.Username = "" }, "WRONGPASS"},
		{"plain text", func(c *redisconn.Config) { c.TLS = tlsclient.Config{} }, "store:"},
		{"unknown CA", func(c *redisconn.Config) { c.TLS.CAFile = "" }, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := useAll(t, c, tc.wantErr == "")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
