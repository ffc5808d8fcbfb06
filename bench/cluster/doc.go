// Package cluster launches a whole goim-edge cluster on loopback for the
// bench and for trying cluster mode by hand: redis-server, etcd, one
// logic, Spec.Jobs jobs and Spec.Edges edges, each a separate process
// started from the goim-edge binary Spec.Bin, and optionally kfake as the
// Kafka queue.
//
// Guarantees:
//
//   - Start returns only once every node is ready: redis answers PING,
//     etcd /health, every goim-edge node's admin /readyz says 200, and every
//     job's goim_job_edges gauge counts all Spec.Edges edges. On any
//     failure it stops what it started and returns an error naming the
//     node, with the end of its log.
//
//   - Everything a cluster writes (TOML configs, data dirs, logs, the JSON
//     state file) lives in its own folder, Spec.Dir, so two clusters never
//     share state.
//
//   - Processes are children of the caller and die with it (Pdeathsig),
//     unless Spec.Detach asks for processes that outlive it (the
//     `bench/cmd/cluster up` command). Close stops edges first, then jobs,
//     logic, etcd and redis: SIGTERM, then SIGKILL after Spec.Grace.
//
//   - StopState (the `down` command) signals only processes whose
//     executable, start time and command line still match the state file,
//     so a reused pid is never killed.
//
//   - Every child's RLIMIT_NOFILE soft limit is raised to the hard limit.
//
//   - Sample reads every process (RSS, CPU, Go heap), Redis and etcd
//     concurrently; it is the bench's scenario.Meter.
//
// Configuration follows deploy/local/cluster.sh: queue Redis Streams (or
// kfake), store Redis, registry etcd (lease 5 s), a random rpc.secret
// unless Spec.RPCSecret, auth mode json (loopback, trusted), log level
// warn unless Spec.LogLevel. Spec.Sets adds -set overrides for every node
// ("key=value") or one role ("edge:key=value"); the processes get the
// caller's environment without GOIM_ variables.
//
// Limits: loopback only, Linux only (/proc, Pdeathsig, prlimit). Free
// ports are found by binding :0 and released just before the nodes bind
// them, so another program may take one first; Start then tries again on
// new ports (three times). Spec.Queue "kafka" runs kfake (in-process fake,
// not a real broker) inside the caller's process: it is not measured by
// Sample and cannot outlive the caller, so a detached cluster cannot use
// it. A Spec.Dir holding an earlier cluster's etcd data is refused.
package cluster
