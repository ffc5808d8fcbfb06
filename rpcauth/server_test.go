package rpcauth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/klog"
	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/transport"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/goim-edge/goim-edge/edge"
	edgeapi "github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeservice "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	logicsvc "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/rpcauth"
)

const (
	secret   = "0123456789abcdef-current"
	previous = "0123456789abcdef-previous"
)

// startEdge starts a real edge whose Edge service runs with auth; its
// logic client points nowhere (Edge calls made here never reach logic).
func startEdge(t testing.TB, auth rpcauth.Config) string {
	t.Helper()
	lc, err := logicsvc.NewClient("goim.logic", client.WithHostPorts("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := edge.DefaultConfig()
	cfg.Node = "edge-rpcauth"
	cfg.TCPAddr, cfg.WSAddr, cfg.RPCAddr = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.RPCAuth = auth
	cfg.RenewOnlineInterval = time.Hour // its logic is unreachable on purpose
	e, err := edge.New(cfg, lc)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("edge shutdown: %v", err)
		}
	})
	return e.Addrs().RPC
}

func edgeClient(t testing.TB, addr string, opts ...client.Option) edgeservice.Client {
	t.Helper()
	c, err := edgeservice.NewClient("goim.edge", append(opts,
		client.WithHostPorts(addr), client.WithRPCTimeout(5*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// counter reads a counter of the default registry by its labels; 0 when
// it has not been created yet.
func counter(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := labels[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

func TestEdgeServiceAuth(t *testing.T) {
	addr := startEdge(t, rpcauth.Config{Secret: secret, PreviousSecrets: []string{previous}, MaxPayloadBytes: rpcauth.DefaultMaxPayloadBytes})
	tests := []struct {
		name   string
		opts   []client.Option
		reason string // "" accepted
	}{
		{"plain generated client", nil, rpcauth.ReasonMissing},
		{"ttheader without secret", rpcauth.ClientOptions(""), rpcauth.ReasonMissing},
		{"wrong secret", rpcauth.ClientOptions("0123456789abcdef-wrong!!"), rpcauth.ReasonWrong},
		{"prefix of the secret", rpcauth.ClientOptions(secret[:len(secret)-1]), rpcauth.ReasonWrong},
		{"secret plus a byte", rpcauth.ClientOptions(secret + "x"), rpcauth.ReasonWrong},
		{"huge value", rpcauth.ClientOptions(strings.Repeat("s", 60000)), rpcauth.ReasonWrong},
		{"current secret", rpcauth.ClientOptions(secret), ""},
		{"previous secret", rpcauth.ClientOptions(previous), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli := edgeClient(t, addr, tt.opts...)
			labels := map[string]string{"service": "Edge", "reason": tt.reason}
			before := counter(t, "goim_rpc_auth_refused_total", labels)
			// Two calls on the same client: a refusal leaves the
			// connection usable and is counted each time.
			for i := 0; i < 2; i++ {
				_, err := cli.Kick(context.Background(), &edgeapi.KickReq{Keys: []string{"k"}})
				if tt.reason == "" {
					if err != nil {
						t.Fatalf("call %d: %v", i, err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("call %d accepted", i)
				}
				if !rpcauth.IsRefused(err) {
					t.Fatalf("call %d: error %v (%T) is not recognised as refused", i, err, err)
				}
				var te *remote.TransError
				if !errors.As(err, &te) || te.TypeID() != rpcauth.TypeUnauthenticated {
					t.Fatalf("call %d: error %v has no type id %d", i, err, rpcauth.TypeUnauthenticated)
				}
			}
			if tt.reason != "" {
				if got := counter(t, "goim_rpc_auth_refused_total", labels) - before; got != 2 {
					t.Fatalf("refusals counted %v, want 2", got)
				}
			}
		})
	}
}

func TestNoSecretAcceptsEveryCall(t *testing.T) {
	addr := startEdge(t, rpcauth.DefaultConfig())
	for _, opts := range [][]client.Option{nil, rpcauth.ClientOptions(""), rpcauth.ClientOptions(secret)} {
		if _, err := edgeClient(t, addr, opts...).Rooms(context.Background(), &edgeapi.RoomsReq{}); err != nil {
			t.Fatal(err)
		}
	}
}

// keysOf is a PushKeys request of about n bytes.
func keysOf(n int) *edgeapi.PushKeysReq {
	keys := make([]string, 0, n/40+1)
	for size := 0; size < n; size += 40 {
		keys = append(keys, strings.Repeat("k", 36))
	}
	return &edgeapi.PushKeysReq{Keys: keys, Op: 1000, Body: []byte("x")}
}

func TestPayloadLimit(t *testing.T) {
	const limit = 64 << 10
	addr := startEdge(t, rpcauth.Config{Secret: secret, MaxPayloadBytes: limit})
	big := edgeClient(t, addr, rpcauth.ClientOptions(secret)...)
	other := edgeClient(t, addr, rpcauth.ClientOptions(secret)...)
	if _, err := other.Rooms(context.Background(), &edgeapi.RoomsReq{}); err != nil {
		t.Fatal(err)
	}
	if _, err := big.PushKeys(context.Background(), keysOf(limit/2)); err != nil {
		t.Fatalf("request under the limit: %v", err)
	}
	before := counter(t, "goim_rpc_payload_refused_total", map[string]string{"server": "goim.edge", "reason": rpcauth.ReasonTooLarge})
	_, err := big.PushKeys(context.Background(), keysOf(2*limit))
	if err == nil {
		t.Fatal("oversized request accepted")
	}
	if got := counter(t, "goim_rpc_payload_refused_total", map[string]string{"server": "goim.edge", "reason": rpcauth.ReasonTooLarge}) - before; got != 1 {
		t.Fatalf("too_large refusals counted %v, want 1 (error %v)", got, err)
	}
	t.Logf("oversized call: %v", err)
	// The server keeps serving: an already connected client, and the
	// refused one on a new connection.
	for _, c := range []edgeservice.Client{other, big} {
		if _, err := c.Rooms(context.Background(), &edgeapi.RoomsReq{}); err != nil {
			t.Fatalf("after the oversized call: %v", err)
		}
	}
}

func TestUnframedRefused(t *testing.T) {
	addr := startEdge(t, rpcauth.DefaultConfig())
	before := counter(t, "goim_rpc_payload_refused_total", map[string]string{"server": "goim.edge", "reason": rpcauth.ReasonUnframed})
	_, err := edgeClient(t, addr, client.WithTransportProtocol(transport.PurePayload)).Rooms(context.Background(), &edgeapi.RoomsReq{})
	if err == nil {
		t.Fatal("unframed call accepted")
	}
	if got := counter(t, "goim_rpc_payload_refused_total", map[string]string{"server": "goim.edge", "reason": rpcauth.ReasonUnframed}) - before; got != 1 {
		t.Fatalf("unframed refusals counted %v, want 1 (error %v)", got, err)
	}
	if _, err := edgeClient(t, addr, client.WithTransportProtocol(transport.Framed)).Rooms(context.Background(), &edgeapi.RoomsReq{}); err != nil {
		t.Fatalf("framed call: %v", err)
	}
}

func TestListenAddr(t *testing.T) {
	with := rpcauth.Config{Secret: secret}
	tests := []struct {
		addr     string
		cfg      rpcauth.Config
		want     string
		loopback bool
	}{
		{":3119", rpcauth.Config{}, "127.0.0.1:3119", true},
		{"0.0.0.0:3119", rpcauth.Config{}, "127.0.0.1:3119", true},
		{"[::]:3119", rpcauth.Config{}, "127.0.0.1:3119", true},
		{"10.1.2.3:3109", rpcauth.Config{}, "127.0.0.1:3109", true},
		{"127.0.0.1:3119", rpcauth.Config{}, "127.0.0.1:3119", true},
		{"localhost:3119", rpcauth.Config{}, "localhost:3119", true},
		{":3119", with, ":3119", false},
		{"10.1.2.3:3109", with, "10.1.2.3:3109", false},
	}
	for _, tt := range tests {
		got, loop := rpcauth.ListenAddr(tt.addr, tt.cfg)
		if got != tt.want || loop != tt.loopback {
			t.Errorf("ListenAddr(%q, secret %v) = %q, %v; want %q, %v", tt.addr, tt.cfg.Required(), got, loop, tt.want, tt.loopback)
		}
	}
	// And the address binds where it says.
	bind, _ := rpcauth.ListenAddr(":0", rpcauth.Config{})
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("bound %v", ln.Addr())
	}
}

// BenchmarkRoundTrip is one Edge.Kick call over loopback Kitex, on a
// server without a secret and on one that requires it (TTHeader, header
// write, read, check): the difference is what auth costs a call.
func BenchmarkRoundTrip(b *testing.B) {
	// Kitex's and the edge's start-up lines would split the benchmark's
	// result lines.
	klog.SetOutput(io.Discard)
	defer klog.SetOutput(os.Stdout)
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, bc := range []struct {
		name string
		cfg  rpcauth.Config
		opts []client.Option
	}{
		{"framed-no-auth", rpcauth.DefaultConfig(), nil},
		{"ttheader-no-auth", rpcauth.DefaultConfig(), rpcauth.ClientOptions("")},
		{"ttheader-auth", rpcauth.Config{Secret: secret, PreviousSecrets: []string{previous}, MaxPayloadBytes: rpcauth.DefaultMaxPayloadBytes}, rpcauth.ClientOptions(secret)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cli := edgeClient(b, startEdge(b, bc.cfg), bc.opts...)
			req := &edgeapi.KickReq{Keys: []string{"nobody"}}
			ctx := context.Background()
			if _, err := cli.Kick(ctx, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cli.Kick(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
