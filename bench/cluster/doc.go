// Package cluster launches a whole goim-edge cluster on loopback for the
// bench and for trying cluster mode by hand: redis-server, etcd, one
// logic, Spec.Jobs jobs and Spec.Edges edges, each a separate process
// started from the goim-edge binary Spec.Bin, and optionally kfake as the
// Kafka queue.
//
// Guarantees:
//   - Start returns only once every node is ready: redis answers PING,
//     etcd /health, every goim-edge node's admin /readyz says 200, and every
//     job's goim_job_edges gauge counts all Spec.Edges edges. On any
//     failure it stops what it started and returns an error naming the
//     node, with the end of its log.
//   - Everything a cluster writes (TOML configs, data dirs, logs, the JSON
//     state file) lives in its own folder, Spec.Dir, so two clusters never
//     share state.
//   - Processes are children of the caller and die with it (Pdeathsig),
//     unless Spec.Detach asks for processes that outlive it (the
//     `bench/cmd/cluster up` command). Close stops edges first, then jobs,
//     logic, etcd and redis: SIGTERM, then SIGKILL after Spec.Grace.
//   - StopState (the `down` command) signals only processes whose
//     executable, start time and command line still match the state file,
//     so a reused pid is never killed.
//
// Limits: loopback only, Linux only (/proc, Pdeathsig, prlimit). Free
// ports are found by binding :0 and released just before the nodes bind
// them, so another program may in rare cases take one first; Start then
// fails with "address already in use" and may simply be called again.
// Spec.Queue "kafka" runs kfake (in-process fake, not a real broker)
// inside the caller's process: it is not measured by Sample and cannot
// outlive the caller, so a detached cluster cannot use it.
package cluster
