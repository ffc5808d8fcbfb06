package app

import (
	"runtime"
	"strings"
	"testing"
)

// TestVersionCommand: `version`, `--version` and `-version` print the
// version, commit, Go version and build time.
func TestVersionCommand(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		out, err := runCLI(t, nil, arg)
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		for _, want := range []string{"goim-edge ", "\n  commit:  ", "\n  go:      " + runtime.Version(), "\n  built:   "} {
			if !strings.Contains(out, want) {
				t.Errorf("%s printed %q, want %q in it", arg, out, want)
			}
		}
	}
	if _, err := runCLI(t, nil, "version", "extra"); err == nil || !strings.Contains(err.Error(), "no arguments") {
		t.Fatalf("version extra: %v", err)
	}
}
