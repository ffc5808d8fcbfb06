package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/app/obs"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/rpcauth"
)

// TestFrameworkLogsByCause: with the process's logging set up as run
// does it, a Kitex call refused for its secret and a broken HTTP request
// reach slog as records with fields (remote_addr, err), at WARN or DEBUG:
// the caller's mistakes, not this process failing, so never ERROR.
func TestFrameworkLogsByCause(t *testing.T) {
	var out testenv.Output
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	obs.SetupLogging(log, slog.LevelDebug)
	t.Cleanup(func() { obs.SetupLogging(prev, slog.LevelInfo) })

	c := testConfig()
	c.Edge.TCPAddr, c.Edge.WSAddr, c.Edge.RPCAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	c.Logic.HTTPAddr, c.Logic.RPCAddr = freeAddr(t), freeAddr(t)
	c.RPC.Secret = testRPCSecret
	n, err := startWithin(t, func() (node, error) { return startStandalone(context.Background(), c, log) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)

	if err := logicCall.call(c.Logic.RPCAddr, rpcauth.ClientOptions("app-test-rpc-secret-wrong!!")); !rpcauth.IsRefused(err) {
		t.Fatalf("call with a wrong secret: %v", err)
	}
	conn, err := net.Dial("tcp", c.Logic.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("NOT HTTP AT ALL\r\n\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = conn.Read(make([]byte, 512)) // the server answers or closes
	conn.Close()

	// Both records are written before the calls above return; read them.
	var kitex, hertz map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for (kitex == nil || hertz == nil) && time.Now().Before(deadline) {
		for _, line := range strings.Split(out.String(), "\n") {
			var r map[string]any
			if json.Unmarshal([]byte(line), &r) != nil {
				continue
			}
			if lib, _ := r["lib"].(string); lib == "kitex" && strings.Contains(str(r["err"]), "rpcauth:") {
				kitex = r
			} else if lib == "hertz" && r["remote_addr"] != nil {
				hertz = r
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if kitex == nil {
		t.Fatalf("no kitex record of the refused call with an err field:\n%s", out.String())
	}
	if kitex["level"] != "WARN" || kitex["msg"] != "processing request error" || kitex["remote_addr"] == nil {
		t.Errorf("refused call logged as %v, want WARN \"processing request error\" with remote_addr", kitex)
	}
	if hertz == nil {
		t.Fatalf("no hertz record of the broken request with remote_addr:\n%s", out.String())
	}
	if lvl := hertz["level"]; lvl != "WARN" && lvl != "DEBUG" {
		t.Errorf("broken HTTP request logged as %v, want WARN or DEBUG", hertz)
	}
}

func str(v any) string { s, _ := v.(string); return s }
