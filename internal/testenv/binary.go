package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildBinary builds the goim-edge binary (the module's main package)
// into a new temporary folder and returns its path and a function that
// removes the folder. Symbols are left out: it links faster.
func BuildBinary(prefix string) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, fmt.Errorf("testenv: build goim-edge: %w", err)
	}
	remove = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, "goim-edge")
	build := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, "github.com/goim-edge/goim-edge")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		remove()
		return "", nil, fmt.Errorf("testenv: go build goim-edge: %w", err)
	}
	return bin, remove, nil
}

// MainWithBinary is the TestMain of a package that tests the built
// binary: it builds it into *bin, runs the tests, removes it and exits
// with their code. A failed build exits 1 with the compiler's output.
func MainWithBinary(m *testing.M, prefix string, bin *string) {
	b, remove, err := BuildBinary(prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = b
	code := m.Run()
	remove()
	os.Exit(code)
}
