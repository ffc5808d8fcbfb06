package edge

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"websocket only", func(c *Config) { c.TCPAddr = "" }, ""},
		{"no listener", func(c *Config) { c.TCPAddr, c.WSAddr = "", "" }, "tcp_addr or ws_addr"},
		{"no node", func(c *Config) { c.Node = "" }, "node"},
		{"ws path", func(c *Config) { c.WSPath = "sub" }, "ws_path"},
		{"handshake", func(c *Config) { c.HandshakeTimeout = 0 }, "handshake_timeout"},
		{"write timeout", func(c *Config) { c.WriteTimeout = -time.Second }, "write_timeout"},
		{"batch window", func(c *Config) { c.RoomBatchWindow = 2 * time.Second }, "room_batch_window"},
		{"no batching is fine", func(c *Config) { c.RoomBatchWindow = 0 }, ""},
		{"buckets", func(c *Config) { c.Buckets = 0 }, "buckets"},
		{"send queue", func(c *Config) { c.SendQueue = 0 }, "send_queue"},
		{"max rooms", func(c *Config) { c.MaxRooms = 0 }, "max_rooms"},
		{"ws read buffer", func(c *Config) { c.WSReadBuffer = 64 }, "ws_read_buffer"},
		{"heartbeat max", func(c *Config) { c.HeartbeatMax = 0 }, "heartbeat_max"},
		{"max connections", func(c *Config) { c.MaxConnections = -1 }, "max_connections"},
		{"wss without cert", func(c *Config) { c.WSSAddr = ":3103" }, "tls_cert_file"},
		{"wss only", func(c *Config) {
			c.TCPAddr, c.WSAddr, c.WSSAddr, c.TLSCertFile, c.TLSKeyFile = "", "", ":3103", "c.pem", "k.pem"
		}, ""},
		{"capped", func(c *Config) { c.MaxConnections = 100000 }, ""},
		{"per-ip cap", func(c *Config) { c.MaxConnsPerIP = -1 }, "max_conns_per_ip"},
		{"exempt cidr", func(c *Config) { c.ConnLimitExempt = []string{"10.0.0.1"} }, "conn_limit_exempt"},
		{"accept rate", func(c *Config) { c.AcceptRate = -1 }, "accept_rate"},
		{"accept burst", func(c *Config) { c.AcceptBurst = 0 }, "accept_burst"},
		{"no accept limit", func(c *Config) { c.AcceptRate, c.AcceptBurst = 0, 0 }, ""},
		{"upstream rate", func(c *Config) { c.UpstreamRate = -1 }, "upstream_rate"},
		{"upstream burst", func(c *Config) { c.UpstreamBurst = 0 }, "upstream_burst"},
		{"no upstream limit", func(c *Config) { c.UpstreamRate, c.UpstreamBurst, c.UpstreamMaxRefused = 0, 0, 0 }, ""},
		{"upstream parallel", func(c *Config) { c.UpstreamParallel = 0 }, "upstream_parallel"},
		{"input buffer", func(c *Config) { c.MaxInputBuffer = 4096 }, "max_input_buffer"},
		{"several at once", func(c *Config) { c.Buckets, c.SendQueue = 0, 0 }, "send_queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestDefaultConfigIsGoim(t *testing.T) {
	c := DefaultConfig()
	if c.TCPAddr != ":3101" || c.WSAddr != ":3102" || c.WSPath != "/sub" || c.RPCAddr != ":3109" {
		t.Fatalf("ports %q %q %q %q", c.TCPAddr, c.WSAddr, c.WSPath, c.RPCAddr)
	}
	if c.idleDeadline() != 8*time.Minute || c.HandshakeTimeout != 5*time.Second || c.RoomBatchWindow > 20*time.Millisecond {
		t.Fatalf("timing %v %v %v", c.idleDeadline(), c.HandshakeTimeout, c.RoomBatchWindow)
	}
	if c.Node == "" {
		t.Fatal("node defaults to empty")
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	if _, err := New(DefaultConfig(), nil); err == nil {
		t.Fatal("New accepted a nil logic client")
	}
	c := DefaultConfig()
	c.Buckets = 0
	if _, err := New(c, nil); err == nil || !strings.Contains(err.Error(), "buckets") {
		t.Fatalf("New with a bad config: %v", err)
	}
}
