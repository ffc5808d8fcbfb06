package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/goim-edge/goim-edge/bench/cluster"
)

// up starts a cluster and prints where it is.
func up(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster up", flag.ContinueOnError)
	var w where
	if err := addWhere(fs, &w); err != nil {
		return err
	}
	edges := fs.Int("edges", 2, "number of edges (1 to 60)")
	jobs := fs.Int("jobs", 1, "number of jobs")
	queue := fs.String("queue", cluster.QueueRedis, "queue: redis (Streams on the cluster's redis-server) or kafka (kfake, in-process fake, not a real broker; keeps up in the foreground)")
	bin := fs.String("bin", os.Getenv("CLUSTER_BIN"), "a built goim-edge binary (default $CLUSTER_BIN; none: go build one into the folder)")
	free := fs.Bool("free-ports", false, "free loopback ports instead of the fixed ones (give -dir to find the cluster again)")
	logLevel := fs.String("log-level", "info", "goim-edge nodes' log level")
	var sets multi
	fs.Var(&sets, "set", "config override for goim-edge nodes: key=value, or role:key=value for one role (repeatable)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	dir, err := w.folder()
	if err != nil {
		return err
	}
	if st, err := cluster.ReadState(dir); err == nil {
		for _, n := range st.Nodes {
			if cluster.Alive(n) {
				return fmt.Errorf("a cluster is already up at %s; run: %s", dir, w.hint("down"))
			}
		}
	}
	if err := fresh(dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster: folder %s\n", dir)
	if *bin == "" {
		fmt.Fprintln(stdout, "cluster: building goim-edge")
		if *bin, err = build(ctx, dir, stderr); err != nil {
			return err
		}
	}
	detach := *queue != cluster.QueueKafka
	spec := cluster.Spec{
		Bin: *bin, Edges: *edges, Jobs: *jobs, Queue: *queue, Dir: dir, Sets: sets,
		RPCSecret: os.Getenv("GOIM_RPC_SECRET"), LogLevel: *logLevel,
		FixedPorts: !*free, PortOffset: w.offset, Detach: detach,
	}
	c, err := cluster.Start(ctx, spec)
	if err != nil {
		return err
	}
	printUp(stdout, c, w)
	if detach {
		return nil
	}
	return foreground(ctx, c, stdout)
}

// fresh readies dir for a new cluster: a new or empty folder, or an
// earlier cluster's, whose state, data and logs it removes. Any other
// folder is refused, so a mistyped -dir deletes nothing of the user's.
func fresh(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(ents) == 0) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "conf", "rpc.secret")); err != nil {
		return fmt.Errorf("%s is not empty and holds no earlier cluster (no conf/rpc.secret); give a new or empty -dir", dir)
	}
	for _, sub := range []string{cluster.StateFile, "data", "logs"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return err
		}
	}
	return nil
}

// build compiles goim-edge from the module in the current folder into
// dir/bin.
func build(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	out := filepath.Join(dir, "bin", "goim-edge")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/goim-edge/goim-edge")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("go not found (https://go.dev/dl), or set CLUSTER_BIN / -bin to a built goim-edge")
		}
		return "", fmt.Errorf("go build failed (run from the goim-edge repository, or give -bin): %w", err)
	}
	return out, nil
}

// printUp prints what deploy/local/cluster.sh printed after up.
func printUp(out io.Writer, c *cluster.Cluster, w where) {
	fmt.Fprintf(out, "cluster: redis %s, etcd %s ready\n", c.Redis, c.Etcd)
	if c.Queue == cluster.QueueKafka {
		fmt.Fprintf(out, "cluster: queue kafka: %s at %s\n", cluster.KfakeLabel, strings.Join(c.Kafka, ","))
	}
	fmt.Fprintf(out, "cluster: up. Logs: %s   Stop: %s\n", filepath.Join(c.Dir, "logs"), w.hint("down"))
	fmt.Fprintf(out, "  demo page     http://%s/\n", c.HTTP)
	fmt.Fprintf(out, "  push API      curl -d 'hello' 'http://%s/goim/push/mids?operation=1000&mids=123'\n", c.HTTP)
	fmt.Fprintf(out, "  Kitex Push    %s, rpc.secret in %s\n", c.RPC, filepath.Join(c.Dir, "conf", "rpc.secret"))
	for i := range c.TCP {
		fmt.Fprintf(out, "  %-13s tcp %s  ws %s\n", fmt.Sprintf("edge-%d", i+1), c.TCP[i], c.WS[i])
	}
}

// foreground keeps a cluster whose queue lives in this process (kfake)
// running until ctx ends (Ctrl-C) or every node is gone (down), then
// stops it.
func foreground(ctx context.Context, c *cluster.Cluster, out io.Writer) error {
	fmt.Fprintf(out, "cluster: the queue is %s inside this command: it stays in the foreground; Ctrl-C stops the cluster\n", cluster.KfakeLabel)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-tick.C:
			running = false
			for _, n := range c.Nodes {
				if cluster.Alive(n) {
					running = true
					break
				}
			}
		}
	}
	fmt.Fprintln(out, "cluster: stopping")
	err := c.Close()
	fmt.Fprintf(out, "cluster: down. Logs and data stay in %s (rm -rf it when done)\n", c.Dir)
	return err
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
