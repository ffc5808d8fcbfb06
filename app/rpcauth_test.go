package app

import (
	"context"
	"fmt"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"

	edgeapi "github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgesvc "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	logicapi "github.com/goim-edge/goim-edge/kitex_gen/logic"
	logicsvc "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	pushapi "github.com/goim-edge/goim-edge/kitex_gen/push"
	pushsvc "github.com/goim-edge/goim-edge/kitex_gen/push/push"
	"github.com/goim-edge/goim-edge/rpcauth"
)

const (
	testRPCSecret   = "app-test-rpc-secret-current"
	testRPCPrevious = "app-test-rpc-secret-previous"
)

// rpcCall calls one method of one Kitex service at addr with the client
// options a caller would use.
type rpcCall struct {
	service string
	call    func(addr string, opts []client.Option) error
}

func clientOpts(addr string, opts []client.Option) []client.Option {
	return append(opts, client.WithHostPorts(addr), client.WithRPCTimeout(5*time.Second))
}

var edgeCall = rpcCall{"Edge", func(addr string, opts []client.Option) error {
	c, err := edgesvc.NewClient("goim.edge", clientOpts(addr, opts)...)
	if err != nil {
		return err
	}
	_, err = c.Rooms(context.Background(), &edgeapi.RoomsReq{})
	return err
}}

var logicCall = rpcCall{"Logic", func(addr string, opts []client.Option) error {
	c, err := logicsvc.NewClient("goim.logic", clientOpts(addr, opts)...)
	if err != nil {
		return err
	}
	_, err = c.Epoch(context.Background(), &logicapi.EpochReq{Server: "edge-x"})
	return err
}}

var pushCall = rpcCall{"Push", func(addr string, opts []client.Option) error {
	c, err := pushsvc.NewClient("goim.logic", clientOpts(addr, opts)...)
	if err != nil {
		return err
	}
	_, err = c.NodesInstances(context.Background(), &pushapi.NodesInstancesReq{})
	return err
}}

// TestStandaloneRPCAuth: with rpc.secret every Kitex service of a running
// standalone (Edge on the edge's port, Logic and Push on logic's) refuses
// a call without it or with a wrong one, as a typed refusal, and serves
// the current and the previous secret.
func TestStandaloneRPCAuth(t *testing.T) {
	c := testConfig()
	c.Edge.TCPAddr, c.Edge.WSAddr, c.Edge.RPCAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	c.Logic.HTTPAddr, c.Logic.RPCAddr = freeAddr(t), freeAddr(t)
	c.RPC.Secret, c.RPC.PreviousSecrets = testRPCSecret, []string{testRPCPrevious}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := startWithin(t, func() (node, error) { return startStandalone(context.Background(), c, discardLog()) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)
	s := n.(*standalone)
	targets := []struct {
		rpcCall
		addr string
	}{
		{edgeCall, s.edge.srv.Addrs().RPC},
		{logicCall, s.logic.rpcAddr},
		{pushCall, s.logic.rpcAddr},
	}
	callers := []struct {
		name    string
		opts    []client.Option
		refused bool
	}{
		{"plain client", nil, true},
		{"no secret", rpcauth.ClientOptions(""), true},
		{"wrong secret", rpcauth.ClientOptions("app-test-rpc-secret-wrong!!"), true},
		{"current secret", rpcauth.ClientOptions(testRPCSecret), false},
		{"previous secret", rpcauth.ClientOptions(testRPCPrevious), false},
	}
	for _, tg := range targets {
		for _, cl := range callers {
			t.Run(tg.service+"/"+cl.name, func(t *testing.T) {
				err := tg.call(tg.addr, cl.opts)
				switch {
				case cl.refused && !rpcauth.IsRefused(err):
					t.Fatalf("error %v, want a refusal", err)
				case !cl.refused && err != nil:
					t.Fatalf("refused: %v", err)
				}
			})
		}
	}
}

// TestEdgeLogicClientSendsSecret: the edge role's client to logic carries
// rpc.secret; the same client built without it is refused.
func TestEdgeLogicClientSendsSecret(t *testing.T) {
	c := testConfig()
	c.Edge.TCPAddr, c.Edge.WSAddr, c.Edge.RPCAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	c.Logic.HTTPAddr, c.Logic.RPCAddr = freeAddr(t), freeAddr(t)
	c.RPC.Secret = testRPCSecret
	n, err := startWithin(t, func() (node, error) { return startStandalone(context.Background(), c, discardLog()) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)
	for _, tt := range []struct {
		secret  string
		refused bool
	}{{testRPCSecret, false}, {"", true}} {
		ec := testConfig()
		ec.RPC.Secret = tt.secret
		ec.Registry.Static.Logic = []string{n.(*standalone).logic.rpcAddr}
		rk, err := openRegistry(ec, discardLog())
		if err != nil {
			t.Fatal(err)
		}
		lc, err := newLogicClient(ec, rk)
		if err != nil {
			t.Fatal(err)
		}
		_, err = lc.Epoch(context.Background(), &logicapi.EpochReq{Server: "edge-x"})
		if tt.refused != rpcauth.IsRefused(err) || (!tt.refused && err != nil) {
			t.Errorf("secret %v: error %v, refused should be %v", tt.secret != "", err, tt.refused)
		}
		_ = rk.close()
	}
}

// TestRPCPortsBindLoopbackWithoutSecret: without rpc.secret both Kitex
// ports of a standalone bind 127.0.0.1 whatever their configured host
// (":PORT", "0.0.0.0:PORT"), the log says so once per port, and they
// cannot be reached on the machine's other address. With a secret they
// bind as configured.
func TestRPCPortsBindLoopbackWithoutSecret(t *testing.T) {
	for _, withSecret := range []bool{false, true} {
		t.Run(fmt.Sprintf("secret=%v", withSecret), func(t *testing.T) {
			edgePort, logicPort := strconv.Itoa(port(freeAddr(t))), strconv.Itoa(port(freeAddr(t)))
			c := testConfig()
			c.Edge.TCPAddr, c.Edge.WSAddr, c.Logic.HTTPAddr = freeAddr(t), freeAddr(t), freeAddr(t)
			c.Edge.RPCAddr, c.Logic.RPCAddr = "0.0.0.0:"+edgePort, ":"+logicPort
			if withSecret {
				c.RPC.Secret = testRPCSecret
			}
			var logs testenv.SyncBuffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			n, err := startWithin(t, func() (node, error) { return startStandalone(context.Background(), c, log) })
			if err != nil {
				t.Fatal(err)
			}
			defer stopNode(t, n)
			s := n.(*standalone)
			for _, b := range []struct{ bound, port string }{{s.edge.srv.Addrs().RPC, edgePort}, {s.logic.rpcAddr, logicPort}} {
				host, p, err := net.SplitHostPort(b.bound)
				if err != nil || p != b.port {
					t.Fatalf("bound %q, want port %s", b.bound, b.port)
				}
				ip := net.ParseIP(host)
				msg := "rpc: no rpc.secret, binding 127.0.0.1:" + b.port + " only"
				if withSecret {
					if ip == nil || !ip.IsUnspecified() {
						t.Errorf("with a secret the port bound %s, want all interfaces", b.bound)
					}
					msg = "requires rpc.secret"
				} else if !ip.Equal(net.IPv4(127, 0, 0, 1)) {
					t.Errorf("without a secret the port bound %s, want 127.0.0.1", b.bound)
				}
				if !strings.Contains(logs.String(), msg) {
					t.Errorf("log does not say %q:\n%s", msg, logs.String())
				}
				if other := firstIPv4(); !withSecret && other != "127.0.0.1" {
					if conn, err := net.DialTimeout("tcp", net.JoinHostPort(other, b.port), 2*time.Second); err == nil {
						conn.Close()
						t.Errorf("port %s reachable on %s without a secret", b.port, other)
					}
				}
			}
			if got := strings.Count(logs.String(), "rpc: "); got != 2 {
				t.Errorf("%d rpc lines in the log, want one per port:\n%s", got, logs.String())
			}
			// The edge's own callers (job) still reach it.
			if err := edgeCall.call(s.edge.srv.Addrs().RPC, rpcauth.ClientOptions(c.RPC.Secret)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
