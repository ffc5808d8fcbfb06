package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/goim-edge/goim-edge/bench/cluster"
)

// load reads the state of the cluster w names; nil state (and a printed
// note) when none is up.
func load(w *where, stdout io.Writer) (*cluster.State, string, error) {
	dir, err := w.folder()
	if err != nil {
		return nil, "", err
	}
	st, err := cluster.ReadState(dir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stdout, "cluster: no cluster is up (no %s/%s)\n", dir, cluster.StateFile)
		return nil, dir, nil
	}
	return st, dir, err
}

// status prints every recorded process, whether it runs, and its
// readiness.
func status(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("cluster status", flag.ContinueOnError)
	var w where
	if err := addWhere(fset, &w); err != nil {
		return err
	}
	if err := parse(fset, args, stderr); err != nil {
		return err
	}
	st, dir, err := load(&w, stdout)
	if st == nil || err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster: folder %s\n", dir)
	if st.Queue == cluster.QueueKafka {
		fmt.Fprintf(stdout, "  queue   %s, inside pid %d (the up command)\n", cluster.KfakeLabel, st.OwnerPID)
	}
	lines := make([]string, len(st.Nodes))
	var wg sync.WaitGroup
	for i, n := range st.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cluster.Alive(n) {
				lines[i] = fmt.Sprintf("  %-7s pid %-7d running  %s", n.Name, n.PID, cluster.Probe(ctx, n))
			} else {
				lines[i] = fmt.Sprintf("  %-7s pid %-7d stopped", n.Name, n.PID)
			}
		}()
	}
	wg.Wait()
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// down stops exactly the processes the state file records, then removes
// it; logs and data stay.
func down(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("cluster down", flag.ContinueOnError)
	var w where
	if err := addWhere(fset, &w); err != nil {
		return err
	}
	grace := fset.Duration("grace", 20*time.Second, "how long a process may take to stop after SIGTERM before SIGKILL")
	if err := parse(fset, args, stderr); err != nil {
		return err
	}
	st, dir, err := load(&w, stdout)
	if st == nil || err != nil {
		return err
	}
	var mu sync.Mutex
	cluster.StopState(st, *grace, func(n *cluster.Node, killed bool) {
		mu.Lock()
		defer mu.Unlock()
		if killed {
			fmt.Fprintf(stdout, "cluster: %s (pid %d) did not stop in %v; killed it\n", n.Name, n.PID, *grace)
		}
		fmt.Fprintf(stdout, "cluster: stopped %s (pid %d)\n", n.Name, n.PID)
	})
	if err := cluster.RemoveState(dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster: down. Logs and data stay in %s (rm -rf it when done)\n", dir)
	return nil
}
