package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/goim-edge/goim-edge/bench/report"
	"github.com/goim-edge/goim-edge/bench/scenario"
	"github.com/goim-edge/goim-edge/bench/standalone"
)

// runFresh starts a new standalone server from bin, points the scenario
// at it (addresses, PID, metrics), runs it and stops the server, so every
// scenario starts from the same empty server.
// config is a -config file for the server ("" none), recorded with its
// content in the result.
func runFresh(ctx context.Context, bin, out string, o scenario.Options, rep *report.Report, config string, sets []string) *report.Result {
	srv, err := standalone.StartConfig(ctx, bin, filepath.Join(out, "logs"), config, sets...)
	if err != nil {
		return &report.Result{Scenario: o.Scenario, Label: o.Scenario, Error: err.Error()}
	}
	rep.Server = fmt.Sprintf("a fresh `%s standalone` per scenario (%s; logs under %s)", bin, serverVersion(bin), filepath.Join(out, "logs"))
	o.TCPAddr, o.WSURL, o.HTTPAddr, o.RPCAddr = srv.TCP, srv.WS, srv.HTTP, srv.RPC
	o.TargetPID, o.MetricsURL = srv.PID, srv.MetricsURL
	res := scenario.Run(ctx, o)
	if config != "" {
		if res.Params == nil {
			res.Params = map[string]string{}
		}
		res.Params["server.config"] = config
		if b, err := os.ReadFile(config); err == nil {
			res.Notes = append(res.Notes, "Server config "+config+": "+strings.Join(strings.Fields(string(b)), " "))
		}
	}
	for _, kv := range sets {
		k, v, _ := strings.Cut(kv, "=")
		if res.Params == nil {
			res.Params = map[string]string{}
		}
		res.Params["server."+k] = v
	}
	if srv.MetricsURL == "" {
		res.Notes = append(res.Notes, "the server exposes no /metrics with Go heap figures on its admin or HTTP port")
	}
	if !srv.Alive() {
		res.Notes = append(res.Notes, "the server process died during the run; see "+srv.LogPath)
	}
	if err := srv.Stop(); err != nil {
		res.Notes = append(res.Notes, err.Error())
	}
	return res
}

// serverVersion asks the binary for its version, for the report.
func serverVersion(bin string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return "version unknown"
	}
	return strings.TrimSpace(string(out))
}
