package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// errUsage is a flag error flag already printed.
var errUsage = errors.New("usage")

// where says which cluster a command means.
type where struct {
	offset int
	dir    string
}

// addWhere registers -port-offset and -dir on fs.
func addWhere(fs *flag.FlagSet, w *where) error {
	def := 0
	if v := os.Getenv("CLUSTER_PORT_OFFSET"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("CLUSTER_PORT_OFFSET=%q is not a number", v)
		}
		def = n
	}
	fs.IntVar(&w.offset, "port-offset", def, "add this to every fixed port, to run beside something else (default $CLUSTER_PORT_OFFSET)")
	fs.StringVar(&w.dir, "dir", "", "the cluster's folder (default $TMPDIR/goim-edge-cluster-<offset>)")
	return nil
}

// folder is the cluster's folder: -dir, else one per port offset.
func (w *where) folder() (string, error) {
	d := w.dir
	if d == "" {
		d = defaultDir(w.offset)
	}
	return filepath.Abs(d)
}

// defaultDir is the folder of the cluster on port offset off.
func defaultDir(off int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("goim-edge-cluster-%d", off))
}

// parse parses args into fs, printing errors to stderr.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fs.Args())
		fs.Usage()
		return errUsage
	}
	return nil
}

// selfName is how to invoke this command in printed hints:
// $CLUSTER_SELF (the wrapper script sets it), else go run.
func selfName() string {
	if s := os.Getenv("CLUSTER_SELF"); s != "" {
		return s
	}
	return "go run ./bench/cmd/cluster"
}

// hint is a command line for sub on the same cluster.
func (w *where) hint(sub string) string {
	s := selfName() + " " + sub
	if w.dir != "" {
		s += " -dir " + w.dir
	} else if w.offset != 0 && os.Getenv("CLUSTER_PORT_OFFSET") != strconv.Itoa(w.offset) {
		s += " -port-offset " + strconv.Itoa(w.offset)
	}
	return s
}
