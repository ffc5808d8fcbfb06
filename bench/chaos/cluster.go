package chaos

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
)

// Cluster is redis-server, etcd, one logic, two jobs and two edges, each a
// separate process on free loopback ports.
type Cluster struct {
	Redis, Etcd *testenv.Server
	Logic       *testenv.Server
	Jobs        [2]*testenv.Server
	Edges       [2]*testenv.Server

	// HTTP is logic's push API (host:port).
	HTTP string
	// LogicAdmin is logic's admin port (metrics, readyz).
	LogicAdmin string
	// EdgeTCP are the edges' device ports.
	EdgeTCP [2]string
	// JobAdmin are the jobs' admin ports (metrics, readyz).
	JobAdmin [2]string
}

// StartCluster builds the cluster from bin and waits until both jobs see
// both edges.
func StartCluster(tb testing.TB, bin string, s Settings) *Cluster {
	tb.Helper()
	c := &Cluster{Redis: testenv.Redis(tb), Etcd: testenv.Etcd(tb)}
	var p ports
	c.Logic, p = c.node(tb, bin, "logic", "logic-1", s)
	c.HTTP, c.LogicAdmin = p["http"], p["admin"]
	for i := range c.Jobs {
		c.Jobs[i], p = c.node(tb, bin, "job", fmt.Sprintf("job-%d", i+1), s)
		c.JobAdmin[i] = p["admin"]
	}
	for i := range c.Edges {
		c.Edges[i], p = c.node(tb, bin, "edge", fmt.Sprintf("edge-%d", i+1), s)
		c.EdgeTCP[i] = p["tcp"]
	}
	for i := range c.Jobs {
		if err := c.WaitJobEdges(i, 2, 30*time.Second); err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

// node starts one goim-edge process in role; a lost race for a free port
// ("address already in use") is retried on new ports.
func (c *Cluster) node(tb testing.TB, bin, role, id string, s Settings) (*testenv.Server, ports) {
	tb.Helper()
	dir := tb.TempDir()
	for try := 1; ; try++ {
		p := ports{}
		for _, n := range portNames[role] {
			p[n] = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(tb))
		}
		cfg := filepath.Join(dir, id+".toml")
		if err := os.WriteFile(cfg, []byte(roleConfig(role, id, p, c.Redis.Addr, c.Etcd.Addr, s)), 0o600); err != nil {
			tb.Fatal(err)
		}
		env := append(cleanEnv(), ExtraEnv...)
		srv, err := testenv.Program(tb, testenv.ProgramSpec{
			Name: id, Bin: bin, Args: []string{role, "-config", cfg}, Env: env, ReadyURL: readyURL(role, p),
		})
		if err == nil {
			return srv, p
		}
		if try < 3 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		tb.Fatalf("chaos: start %s: %v", id, err)
	}
}

// cleanEnv is the environment without GOIM_ variables, which the binary
// would apply as configuration.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOIM_") {
			out = append(out, kv)
		}
	}
	return out
}

var edgesGauge = regexp.MustCompile(`(?m)^goim_job_edges (\d+)$`)

// WaitJobEdges polls job i's metrics until it routes to n edges.
func (c *Cluster) WaitJobEdges(i, n int, d time.Duration) error {
	want := fmt.Sprint(n)
	last := "no answer"
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		body, err := get("http://" + c.JobAdmin[i] + "/metrics")
		if err == nil {
			if m := edgesGauge.FindStringSubmatch(body); m != nil {
				if m[1] == want {
					return nil
				}
				last = "goim_job_edges " + m[1]
			}
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("chaos: job-%d does not see %d edges after %v (last: %s)", i+1, n, d, last)
}

// Healthy polls until every process answers its readiness check and both
// jobs see both edges.
func (c *Cluster) Healthy(d time.Duration) error {
	deadline := time.Now().Add(d)
	for _, s := range c.all() {
		if !s.Running() {
			return fmt.Errorf("chaos: %s is not running", s.Name)
		}
	}
	for _, u := range []string{"http://" + c.LogicAdmin + "/readyz", "http://" + c.JobAdmin[0] + "/readyz", "http://" + c.JobAdmin[1] + "/readyz"} {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("chaos: %s not ready after %v", u, d)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for i := range c.Jobs {
		if err := c.WaitJobEdges(i, 2, time.Until(deadline)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) all() []*testenv.Server {
	return []*testenv.Server{c.Redis, c.Etcd, c.Logic, c.Jobs[0], c.Jobs[1], c.Edges[0], c.Edges[1]}
}

// Logs is every goim-edge process's log so far, for a failed test.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, s := range c.all()[2:] {
		fmt.Fprintf(&b, "---- %s ----\n%s\n", s.Name, tail(s.Log(), 8000))
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func get(rawURL string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(rawURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), err
}
