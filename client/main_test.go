package client

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bin is the goim-edge binary built once for this test run; the tests
// start it as real servers (standalone, or a cluster's roles).
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goim-client-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "goim-edge")
	build := exec.Command("go", "build", "-o", bin, "github.com/goim-edge/goim-edge")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "client tests: go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
