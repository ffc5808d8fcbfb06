package client

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The goim-edge binary is built once per test run, on first use (unit
// tests and fuzz workers never need it); the tests start it as real
// servers (standalone, or a cluster's roles).
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

// serverBin returns the built binary, building it the first time.
func serverBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "goim-client-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "goim-edge")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/goim-edge/goim-edge").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("client tests: %v", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
