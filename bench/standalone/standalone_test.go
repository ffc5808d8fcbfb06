package standalone

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The happy path (a real goim-edge started, measured and stopped) is
// tested by bench/cmd/bench, which builds the binary once for all its
// tests; these are the failures a user meets first.
func TestStartFailures(t *testing.T) {
	dir := t.TempDir()
	exitsAtOnce := filepath.Join(dir, "exits")
	if err := os.WriteFile(exitsAtOnce, []byte("#!/bin/sh\necho \"goim-edge: config: unknown key $5\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, bin, want string
	}{
		{"missing binary", filepath.Join(dir, "nope"), "start"},
		{"server exits", exitsAtOnce, "unknown key edge.tcp_addr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Start(context.Background(), c.bin, filepath.Join(dir, "logs"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// TestStartConfigPassesFile: the config file reaches the server as
// -config, ahead of the -set overrides that must win over it.
func TestStartConfigPassesFile(t *testing.T) {
	dir := t.TempDir()
	echo := filepath.Join(dir, "echo")
	if err := os.WriteFile(echo, []byte("#!/bin/sh\necho \"args: $*\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := StartConfig(context.Background(), echo, filepath.Join(dir, "logs"), "/x/history.toml", "edge.room_batch_window=40ms")
	if err == nil || !strings.Contains(err.Error(), "-log-level warn -config /x/history.toml -set edge.tcp_addr=") ||
		!strings.HasSuffix(strings.TrimSpace(err.Error()), "-set edge.room_batch_window=40ms") {
		t.Fatalf("err = %v", err)
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(7)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v", ports)
		}
		seen[p] = true
	}
}
