// Command cluster starts, inspects and stops a goim-edge cluster on
// loopback for trying cluster mode by hand (deploy/local/cluster.sh runs
// it): redis-server, etcd, one logic, jobs and edges, each a separate
// process, from bench/cluster.
//
//	cluster up [-edges N] [-jobs M] [-queue redis|kafka] [-port-offset K] [-dir D] [-bin B]
//	cluster status [-port-offset K] [-dir D]
//	cluster down [-port-offset K] [-dir D]
//
// up builds goim-edge into the cluster's folder unless -bin (or
// $CLUSTER_BIN) names a binary, starts every process detached (they
// outlive the command), waits until each is ready, prints the addresses
// and exits. Ports are deploy/local/cluster.sh's fixed ones (logic HTTP
// 3111, edge-1 TCP 3101, edge-2 TCP 3201, …) moved by -port-offset
// (default $CLUSTER_PORT_OFFSET, else 0); -free-ports picks free ones
// instead (then give -dir). The folder defaults to
// $TMPDIR/goim-edge-cluster-<offset>, so clusters with different offsets
// never share state; status and down find the cluster by the same folder.
// down stops exactly the processes the folder's state file records,
// checking each pid still runs the recorded program first.
//
// -queue kafka uses kfake (in-process fake, not a real broker), which
// lives inside this command: up then stays in the foreground until Ctrl-C
// (or until down stops the cluster), and stops the cluster when it exits.
//
// rpc.secret is $GOIM_RPC_SECRET when set, else random; it is kept in
// conf/rpc.secret in the folder.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: cluster up|status|down [flags]
  up      build goim-edge (unless -bin), start redis, etcd, logic, jobs and edges, wait until ready
  status  what runs, and each node's readiness
  down    stop exactly the processes up started
Run "cluster up -h" for the flags.
`

// run is the command; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "up":
		err = up(ctx, args[1:], stdout, stderr)
	case "status":
		err = status(ctx, args[1:], stdout, stderr)
	case "down":
		err = down(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err == errUsage {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "cluster: %v\n", trimPrefix(err.Error()))
		return 1
	}
	return 0
}

// trimPrefix drops the package's own "cluster: " so messages say it once.
func trimPrefix(s string) string {
	const p = "cluster: "
	for len(s) >= len(p) && s[:len(p)] == p {
		s = s[len(p):]
	}
	return s
}
