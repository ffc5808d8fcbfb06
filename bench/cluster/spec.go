package cluster

import (
	"fmt"
	"strings"
	"time"
)

// Queue kinds a cluster can use.
const (
	// QueueRedis is Redis Streams on the cluster's redis-server.
	QueueRedis = "redis"
	// QueueKafka is franz-go's kfake, an in-process fake, not a real
	// broker, running inside the caller's process.
	QueueKafka = "kafka"
)

// KfakeLabel names kfake wherever the cluster reports its queue.
const KfakeLabel = "kfake (in-process fake, not a real broker)"

// MaxEdges bounds Spec.Edges; the fixed port layout has room for it.
const MaxEdges = 60

// maxFixedJobs bounds Spec.Jobs with FixedPorts (admin ports 3128…3198).
const maxFixedJobs = 8

// Spec describes the cluster Start launches. Zero values take defaults.
type Spec struct {
	// Bin is the built goim-edge binary (required).
	Bin string
	// Edges is the number of edges (default 1, at most MaxEdges).
	Edges int
	// Jobs is the number of jobs (default 1).
	Jobs int
	// Queue is QueueRedis (default) or QueueKafka.
	Queue string
	// Dir is the cluster's own folder: configs in conf/, data in data/,
	// logs in logs/, the state file state.json. "" makes a fresh temporary
	// folder, which Close leaves in place (logs stay readable).
	Dir string
	// Sets are extra config overrides passed as -set to goim-edge nodes,
	// after the cluster's own config. "key=value" applies to every node;
	// "role:key=value" (role edge, logic or job) to that role only, e.g.
	// "edge:edge.room_batch_window=40ms".
	Sets []string
	// RPCSecret is every node's rpc.secret (at least 16 characters; ""
	// generates a random one).
	RPCSecret string
	// LogLevel is every goim-edge node's log level (default "warn").
	LogLevel string
	// FixedPorts uses deploy/local/cluster.sh's well-known ports, each
	// moved by PortOffset (logic HTTP 3111, edge-1 TCP 3101, …; see
	// fixedPorts) instead of free ports.
	FixedPorts bool
	// PortOffset moves every fixed port (FixedPorts only).
	PortOffset int
	// Detach starts every process in its own session without Pdeathsig,
	// so the cluster outlives the caller (stop it with StopState). Not
	// with QueueKafka.
	Detach bool
	// Grace is how long Close waits after SIGTERM before SIGKILL
	// (default 20s).
	Grace time.Duration
	// ReadyTimeout bounds the wait for readiness (default 90s).
	ReadyTimeout time.Duration
}

func (s *Spec) defaults() error {
	if s.Bin == "" {
		return fmt.Errorf("cluster: Spec.Bin (the goim-edge binary) is required")
	}
	if s.Edges == 0 {
		s.Edges = 1
	}
	if s.Edges < 1 || s.Edges > MaxEdges {
		return fmt.Errorf("cluster: Spec.Edges %d: want 1 to %d", s.Edges, MaxEdges)
	}
	if s.Jobs == 0 {
		s.Jobs = 1
	}
	if s.Jobs < 1 || (s.FixedPorts && s.Jobs > maxFixedJobs) {
		return fmt.Errorf("cluster: Spec.Jobs %d: want at least 1 (at most %d with fixed ports)", s.Jobs, maxFixedJobs)
	}
	switch s.Queue {
	case "":
		s.Queue = QueueRedis
	case QueueRedis:
	case QueueKafka:
		if s.Detach {
			return fmt.Errorf("cluster: queue kafka is %s inside this process; it cannot outlive it, so a detached cluster cannot use it", KfakeLabel)
		}
	default:
		return fmt.Errorf("cluster: Spec.Queue %q: want %q or %q", s.Queue, QueueRedis, QueueKafka)
	}
	if s.RPCSecret != "" && len(s.RPCSecret) < 16 {
		return fmt.Errorf("cluster: Spec.RPCSecret must be at least 16 characters")
	}
	for _, kv := range s.Sets {
		if _, _, err := splitSet(kv); err != nil {
			return err
		}
	}
	if s.LogLevel == "" {
		s.LogLevel = "warn"
	}
	if s.Grace <= 0 {
		s.Grace = 20 * time.Second
	}
	if s.ReadyTimeout <= 0 {
		s.ReadyTimeout = 90 * time.Second
	}
	return nil
}

// splitSet splits a Spec.Sets entry into its role ("" for every node)
// and key=value.
func splitSet(kv string) (role, set string, err error) {
	eq := strings.IndexByte(kv, '=')
	if eq <= 0 {
		return "", "", fmt.Errorf("cluster: Spec.Sets entry %q: want key=value or role:key=value", kv)
	}
	if i := strings.IndexByte(kv[:eq], ':'); i >= 0 {
		role, kv = kv[:i], kv[i+1:]
		switch role {
		case roleEdge, roleLogic, roleJob:
		default:
			return "", "", fmt.Errorf("cluster: Spec.Sets entry role %q: want edge, logic or job", role)
		}
	}
	return role, kv, nil
}

// setsFor are the -set arguments for a node of role.
func (s *Spec) setsFor(role string) []string {
	var out []string
	for _, e := range s.Sets {
		r, kv, _ := splitSet(e)
		if r == "" || r == role {
			out = append(out, "-set", kv)
		}
	}
	return out
}
