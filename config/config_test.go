package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "goim.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultIsValidStandalone(t *testing.T) {
	c := Default()
	if err := c.ValidateRole(RoleStandalone); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	if c.Edge.TCPAddr != ":3101" || c.Edge.WSAddr != ":3102" || c.Edge.RPCAddr != ":3109" ||
		c.Logic.HTTPAddr != ":3111" || c.Logic.RPCAddr != ":3119" {
		t.Fatalf("default ports are not goim's: %+v %+v", c.Edge, c.Logic)
	}
}

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
		check   func(t *testing.T, c *Config)
	}{
		{
			name: "durations as strings",
			body: "[shutdown]\ntimeout = \"45s\"\ndrain_delay = \"2s\"\n[edge]\nlogic_timeout = \"1500ms\"\n",
			check: func(t *testing.T, c *Config) {
				if c.Shutdown.Timeout != 45*time.Second || c.Shutdown.DrainDelay != 2*time.Second || c.Edge.LogicTimeout != 1500*time.Millisecond {
					t.Fatalf("durations: %v %v %v", c.Shutdown.Timeout, c.Shutdown.DrainDelay, c.Edge.LogicTimeout)
				}
			},
		},
		{
			name: "static edges as table array",
			body: "[[registry.static.edges]]\nid = \"edge-1\"\nrpc = \"127.0.0.1:3109\"\n[[registry.static.edges]]\nid = \"edge-2\"\nrpc = \"127.0.0.1:3209\"\n",
			check: func(t *testing.T, c *Config) {
				if len(c.Registry.Static.Edges) != 2 || c.Registry.Static.Edges[1].ID != "edge-2" {
					t.Fatalf("edges: %+v", c.Registry.Static.Edges)
				}
			},
		},
		{
			name: "push limits",
			body: "[logic]\nmax_body_bytes = 1024\nmax_targets = 50\n",
			check: func(t *testing.T, c *Config) {
				if c.Logic.MaxBodyBytes != 1024 || c.Logic.MaxTargets != 50 {
					t.Fatalf("limits: %d %d", c.Logic.MaxBodyBytes, c.Logic.MaxTargets)
				}
			},
		},
		{
			name: "old name of max_body_bytes still sets it",
			body: "[logic.http]\nmax_body_bytes = 2048\n",
			check: func(t *testing.T, c *Config) {
				if c.Logic.MaxBodyBytes != 2048 {
					t.Fatalf("logic.max_body_bytes = %d, want 2048 from logic.http.max_body_bytes", c.Logic.MaxBodyBytes)
				}
			},
		},
		{
			name: "old and new name agreeing",
			body: "[logic]\nmax_body_bytes = 2048\n[logic.http]\nmax_body_bytes = 2048\n",
			check: func(t *testing.T, c *Config) {
				if c.Logic.MaxBodyBytes != 2048 {
					t.Fatalf("logic.max_body_bytes = %d", c.Logic.MaxBodyBytes)
				}
			},
		},
		{name: "old and new name disagreeing", body: "[logic]\nmax_body_bytes = 1024\n[logic.http]\nmax_body_bytes = 2048\n", wantErr: "keep only logic.max_body_bytes"},
		{
			name: "job's old room_batch_window still sets room_coalesce_window",
			body: "[job]\nroom_batch_window = \"5ms\"\n",
			check: func(t *testing.T, c *Config) {
				if c.Job.RoomCoalesceWindow != 5*time.Millisecond {
					t.Fatalf("job.room_coalesce_window = %v, want 5ms from job.room_batch_window", c.Job.RoomCoalesceWindow)
				}
			},
		},
		{name: "job's old and new window disagreeing", body: "[job]\nroom_batch_window = \"5ms\"\nroom_coalesce_window = \"7ms\"\n", wantErr: "keep only job.room_coalesce_window"},
		{name: "body limit over the ceiling", body: "[logic]\nmax_body_bytes = 999999999\n", wantErr: "max_body_bytes 999999999"},
		{name: "no targets", body: "[logic]\nmax_targets = 0\n", wantErr: "max_targets 0"},
		{name: "unknown top-level key", body: "colour = 1\n", wantErr: "unknown key(s): colour"},
		{name: "unknown nested key", body: "[edge]\ntcp_adr = \":1\"\n", wantErr: "edge.tcp_adr"},
		{name: "bad duration", body: "[shutdown]\ntimeout = \"soon\"\n", wantErr: "soon"},
		{name: "wrong type", body: "[node]\nweight = \"heavy\"\n", wantErr: "weight"},
		{name: "syntax error", body: "[edge\n", wantErr: "At line 2"},
		{name: "bad enum", body: "[log]\nlevel = \"loud\"\n", wantErr: "log.level \"loud\""},
		{name: "bad address", body: "[logic]\nhttp_addr = \"3111\"\n", wantErr: "logic.http_addr"},
		{name: "bad nodes region", body: "[logic.nodes.regions]\nsh = [\"not-a-cidr\"]\n", wantErr: "not-a-cidr"},
		{name: "component validation", body: "[job]\nretries = -1\n", wantErr: "retries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Check(writeFile(t, tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestPriorityFileEnvFlags(t *testing.T) {
	file := writeFile(t, "[edge]\ntcp_addr = \":4000\"\nws_addr = \":4001\"\nrpc_addr = \":4002\"\n")
	c, err := Load(Options{
		File:    file,
		Environ: []string{"GOIM_EDGE_WS_ADDR=:5001", "GOIM_EDGE_RPC_ADDR=:5002", "PATH=/bin", "GOIM_CONFIG=ignored.toml"},
		Sets:    []string{"edge.rpc_addr=:6002"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Edge.TCPAddr != ":4000" || c.Edge.WSAddr != ":5001" || c.Edge.RPCAddr != ":6002" {
		t.Fatalf("file < env < flags violated: %+v", c.Edge)
	}
}

func TestEnvAndSetTypes(t *testing.T) {
	c, err := Load(Options{Environ: []string{
		"GOIM_REGISTRY_ETCD_ENDPOINTS=a:1, b:2",
		"GOIM_SHUTDOWN_TIMEOUT=1m",
		"GOIM_NODE_WEIGHT=7",
		"GOIM_LOGIC_DEMO_PAGE=false",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Registry.Etcd.Endpoints, "|"); got != "a:1|b:2" {
		t.Fatalf("endpoints %q", got)
	}
	if c.Shutdown.Timeout != time.Minute || c.Node.Weight != 7 || c.Logic.DemoPage {
		t.Fatalf("typed env values not applied: %+v %+v %+v", c.Shutdown, c.Node, c.Logic)
	}
}

func TestEnvAndSetErrors(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"unknown env var", Options{Environ: []string{"GOIM_EDGE_TCP_ADR=:1"}}, "GOIM_EDGE_TCP_ADR"},
		{"bad env value", Options{Environ: []string{"GOIM_NODE_WEIGHT=x"}}, "GOIM_NODE_WEIGHT"},
		{"bad env duration", Options{Environ: []string{"GOIM_SHUTDOWN_TIMEOUT=10"}}, "duration"},
		{"unknown set key", Options{Sets: []string{"edge.nope=1"}}, `unknown key "edge.nope"`},
		{"set without =", Options{Sets: []string{"edge.tcp_addr"}}, "key=value"},
		{"bad bool", Options{Sets: []string{"logic.demo_page=maybe"}}, "true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateRole(t *testing.T) {
	tests := []struct {
		role    string
		mutate  func(c *Config)
		wantErr string
	}{
		{RoleLogic, func(c *Config) {}, "queue.kind memory"},
		{RoleJob, func(c *Config) { c.Queue.Kind = "redis" }, "registry.static.edges"},
		{RoleEdge, func(c *Config) {}, "registry.static.logic"},
		{RoleEdge, func(c *Config) { c.Registry.Kind = "etcd" }, ""},
		{RoleLogic, func(c *Config) { c.Queue.Kind = "redis"; c.Store.Kind = "redis" }, ""},
		{"gateway", func(c *Config) {}, "unknown role"},
	}
	for _, tt := range tests {
		t.Run(tt.role+"/"+tt.wantErr, func(t *testing.T) {
			c := Default()
			tt.mutate(c)
			err := c.ValidateRole(tt.role)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestEncodeRoundTrips(t *testing.T) {
	c := Default()
	c.Registry.Static.Edges = []StaticEdge{{ID: "e1", RPC: "127.0.0.1:1"}}
	text, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Check(writeFile(t, text))
	if err != nil {
		t.Fatalf("printed config does not load back: %v\n%s", err, text)
	}
	if back.Shutdown.Timeout != c.Shutdown.Timeout || back.Registry.Static.Edges[0].ID != "e1" {
		t.Fatalf("round trip lost values: %+v", back)
	}
}

func TestKeysHaveEnvNames(t *testing.T) {
	keys := Keys(Default())
	want := map[string]bool{"edge.tcp_addr": false, "registry.etcd.lease_ttl": false, "log.level": false}
	for _, k := range keys {
		if _, ok := want[k]; ok {
			want[k] = true
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("key %s missing from Keys()", k)
		}
	}
	if EnvName("edge.tcp_addr") != "GOIM_EDGE_TCP_ADDR" {
		t.Fatalf("EnvName: %s", EnvName("edge.tcp_addr"))
	}
}

func TestEncodeRedactsSecrets(t *testing.T) {
	c := Default()
	c.Logic.HTTP.APIKey = "s3cret-key"
	c.Store.Redis.Password = "redis-pass"
	c.Registry.Etcd.Password = "etcd-pass"
	c.Logic.Receive.Token = "hook-token"
	c.RPC.Secret = "rpc-secret-current"
	c.RPC.PreviousSecrets = []string{"rpc-secret-old-1", "rpc-secret-old-2"}
	text, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cret-key", "redis-pass", "etcd-pass", "hook-token", "rpc-secret-current", "rpc-secret-old-1", "rpc-secret-old-2"} {
		if strings.Contains(text, secret) {
			t.Errorf("config print leaks %q", secret)
		}
	}
	if c.Logic.HTTP.APIKey != "s3cret-key" || c.RPC.PreviousSecrets[1] != "rpc-secret-old-2" {
		t.Fatal("Encode changed the config it printed")
	}
	if strings.Count(text, Redacted) != 7 {
		t.Fatalf("want 7 redactions:\n%s", text)
	}
}
