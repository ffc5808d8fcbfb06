package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/goim-edge/goim-edge/bench/scenario"
)

// freshRun is one scenario of a run and the config file its fresh server
// starts with ("" none).
type freshRun struct {
	o      scenario.Options
	config string
	// shape, when set, runs o against a fresh cluster instead.
	shape *clusterShape
}

// overlay is base (the command line: addresses, pusher, timings) with a
// set entry's own sizes and behaviour on top.
func overlay(base, o scenario.Options) scenario.Options {
	base.Scenario, base.Transport, base.Conns, base.Rate, base.Duration = o.Scenario, o.Transport, o.Conns, o.Rate, o.Duration
	base.Settle, base.Heartbeat, base.Procs, base.Speed, base.By = o.Settle, o.Heartbeat, o.Procs, o.Speed, o.By
	base.GCWait, base.Resume, base.Messages = o.GCWait, o.Resume, o.Messages
	if o.Label != "" {
		base.Label = o.Label
	}
	if o.Concurrency != 0 {
		base.Concurrency = o.Concurrency
	}
	if o.Via != "" {
		base.Via = o.Via
	}
	return base
}

// historyConfig is the config file of a recovery-set run that keeps
// history: -server-config when given, else one the bench writes next to
// the report, keeping history for the room's type.
func historyConfig(c *cli, o scenario.Options) (string, error) {
	if c.serverConfig != "" {
		return c.serverConfig, nil
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return "", fmt.Errorf("history config: %w", err)
	}
	// Relative like -out: the server starts in the bench's directory.
	path := filepath.Join(c.out, "history.toml")
	body := scenario.HistoryConfig(scenario.RoomType(o), scenario.HistorySize(o))
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		return "", fmt.Errorf("history config: %w", err)
	}
	return path, nil
}
