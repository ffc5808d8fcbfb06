package redisconn_test

import (
	"strings"
	"testing"

	"github.com/goim-edge/goim-edge/redisconn"
	"github.com/goim-edge/goim-edge/tlsclient"
)

func TestModeAndValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     redisconn.Config
		mode    redisconn.Topology
		wantErr string // "" : valid
	}{
		{"single", redisconn.Config{Addr: "127.0.0.1:6379"}, redisconn.Single, ""},
		{"single without addr", redisconn.Config{}, redisconn.Single, "addr"},
		{"single bad addr", redisconn.Config{Addr: "nope"}, redisconn.Single, "host:port"},
		{"cluster", redisconn.Config{Addr: "ignored:1", Addrs: []string{"127.0.0.1:7000"}}, redisconn.Cluster, ""},
		{"cluster with db", redisconn.Config{Addrs: []string{"127.0.0.1:7000"}, DB: 2}, redisconn.Cluster, "only db 0"},
		{"sentinel", redisconn.Config{MasterName: "m", SentinelAddrs: []string{"127.0.0.1:26379"}, DB: 1}, redisconn.Sentinel, ""},
		{"sentinel without addrs", redisconn.Config{MasterName: "m"}, redisconn.Sentinel, "without sentinel_addrs"},
		{"sentinel without name", redisconn.Config{SentinelAddrs: []string{"127.0.0.1:26379"}}, redisconn.Sentinel, "without master_name"},
		{"sentinel and cluster", redisconn.Config{MasterName: "m", SentinelAddrs: []string{"a:1"}, Addrs: []string{"b:2"}}, redisconn.Sentinel, "exclude"},
		{"sentinel password alone", redisconn.Config{Addr: "a:1", SentinelPassword: "x"}, redisconn.Single, "without master_name"},
		{"tls half client cert", redisconn.Config{Addr: "a:1", TLS: tlsclient.Config{Enabled: true, CertFile: "c.pem"}}, redisconn.Single, "cert_file and key_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.Mode(); got != tc.mode {
				t.Errorf("Mode() = %s, want %s", got, tc.mode)
			}
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				rdb, err := redisconn.New(tc.cfg, redisconn.Options{})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				_ = rdb.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
			if _, err := redisconn.New(tc.cfg, redisconn.Options{}); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

func TestNewFailsOnUnreadableCA(t *testing.T) {
	_, err := redisconn.New(redisconn.Config{Addr: "127.0.0.1:1", TLS: tlsclient.Config{Enabled: true, CAFile: "/nonexistent/ca.pem"}}, redisconn.Options{})
	if err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("New = %v, want a ca_file error", err)
	}
}
