package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/bench/device"
	"github.com/goim-edge/goim-edge/bench/scenario"
	"github.com/goim-edge/goim-edge/internal/testenv"
)

// The bench's scenarios read a cluster through scenario.Meter.
var _ scenario.Meter = (*Cluster)(nil)

// bin is the goim-edge binary built once for this package's tests.
var bin string

// helperDir, set in a child's environment, makes the test binary a
// cluster's owner that never closes it (TestParentDeath).
const helperDir = "GOIM_CLUSTER_TEST_OWNER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDir); dir != "" {
		ownAndHang(dir)
	}
	testenv.MainWithBinary(m, "goim-cluster-test-", &bin)
}

// start launches spec with the test's binary and folder and closes it at
// cleanup.
func start(t *testing.T, spec Spec) *Cluster {
	t.Helper()
	spec.Bin, spec.Dir, spec.Grace = bin, t.TempDir(), 10*time.Second
	began := time.Now()
	c, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d processes, queue %s: ready in %v", len(c.Nodes), c.Queue, time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// inbox is a device.Handler that hands pushes to a channel.
type inbox chan string

func (in inbox) Push(op int32, body []byte) { in <- fmt.Sprintf("%d %s", op, body) }
func (inbox) HeartbeatReply(int32)          {}

// connect attaches a device with key over transport to addr.
func connect(t *testing.T, transport, addr, key string) inbox {
	t.Helper()
	conn, err := device.Connect(context.Background(), device.Options{Transport: transport, Addr: addr},
		device.Token{Mid: 1, Key: key, RoomID: "test://1", Platform: "test", Accepts: []int32{1000}})
	if err != nil {
		t.Fatalf("device %s on %s: %v", key, addr, err)
	}
	in := make(inbox, 16)
	go func() { _ = conn.Serve(in) }()
	t.Cleanup(func() { conn.Close() })
	return in
}

// pushKey pushes body to the device with key through logic's HTTP API.
func pushKey(t *testing.T, httpAddr, key, body string) {
	t.Helper()
	q := url.Values{"operation": {"1000"}, "keys": {key}}
	resp, err := http.Post("http://"+httpAddr+"/goim/push/keys?"+q.Encode(), "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("push to %s: %v", key, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), `"code":0`) {
		t.Fatalf("push to %s: %d %s", key, resp.StatusCode, got)
	}
}

func expect(t *testing.T, in inbox, want string) {
	t.Helper()
	select {
	case got := <-in:
		if got != want {
			t.Fatalf("device got %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %q within 10s", want)
	}
}

// TestTwoEdges starts redis, etcd, logic, a job and two edges, delivers a
// push to a device on each edge (TCP on one, WebSocket on the other),
// samples every role and both backends, and leaves no process behind.
func TestTwoEdges(t *testing.T) {
	c := start(t, Spec{Edges: 2})
	if len(c.TCP) != 2 || len(c.WS) != 2 || c.HTTP == "" || c.RPC == "" || len(c.RPCSecret) < 16 {
		t.Fatalf("addresses: tcp %v ws %v http %q rpc %q", c.TCP, c.WS, c.HTTP, c.RPC)
	}
	in1 := connect(t, device.TCP, c.TCP[0], "on-edge-1")
	in2 := connect(t, device.WS, c.WS[1], "on-edge-2")
	pushKey(t, c.HTTP, "on-edge-1", "hello-1")
	pushKey(t, c.HTTP, "on-edge-2", "hello-2")
	expect(t, in1, "1000 hello-1")
	expect(t, in2, "1000 hello-2")

	st, err := ReadState(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 6 || st.HTTP != c.HTTP {
		t.Fatalf("state: %d nodes, http %q", len(st.Nodes), st.HTTP)
	}

	s, err := c.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	for _, p := range s.Processes {
		roles[p.Role]++
		if p.RSS == 0 || p.PID == 0 {
			t.Errorf("%s: rss %d pid %d", p.Name, p.RSS, p.PID)
		}
		if goRole := p.Role == roleEdge || p.Role == roleLogic || p.Role == roleJob; goRole != p.HeapKnown || (goRole && p.HeapInuse == 0) {
			t.Errorf("%s: heap %d known %v", p.Name, p.HeapInuse, p.HeapKnown)
		}
	}
	if want := map[string]int{"redis": 1, "etcd": 1, "logic": 1, "job": 1, "edge": 2}; fmt.Sprint(roles) != fmt.Sprint(want) {
		t.Errorf("roles %v, want %v", roles, want)
	}
	if s.Redis == nil || s.Redis.UsedMemory == 0 || s.Redis.UsedMemoryRSS == 0 || s.Redis.Commands == 0 || s.Redis.Keys == 0 {
		t.Errorf("redis sample %+v", s.Redis)
	}
	// Every node holds a registry lease and key; job watches the edges.
	if s.Etcd == nil || s.Etcd.DBSize == 0 || s.Etcd.DBSizeInUse == 0 || s.Etcd.Keys < 3 || s.Etcd.Watchers == 0 {
		t.Errorf("etcd sample %+v", s.Etcd)
	}

	pids := map[string]int{}
	for _, n := range c.Nodes {
		pids[n.Name] = n.PID
	}
	began := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %v", time.Since(began).Round(time.Millisecond))
	for name, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("%s (pid %d) still runs after Close", name, pid)
		}
	}
	if _, err := os.Stat(c.StatePath); !os.IsNotExist(err) {
		t.Errorf("state file after Close: %v", err)
	}
}

// ownAndHang starts a one-edge cluster in dir with the binary named by
// GOIM_CLUSTER_TEST_BIN, says "ready" and waits to be killed.
func ownAndHang(dir string) {
	if _, err := Start(context.Background(), Spec{Bin: os.Getenv("GOIM_CLUSTER_TEST_BIN"), Dir: dir}); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

// TestParentDeath: when the process that started a cluster dies without
// closing it, every child process dies too (Pdeathsig).
func TestParentDeath(t *testing.T) {
	dir := t.TempDir()
	owner := exec.Command(os.Args[0], "-test.run=^$")
	owner.Env = append(os.Environ(), helperDir+"="+dir, "GOIM_CLUSTER_TEST_BIN="+bin)
	out, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 4096)
	n, _ := io.ReadAtLeast(out, line, 1)
	if !strings.HasPrefix(string(line[:n]), "ready") {
		_ = owner.Process.Kill()
		_ = owner.Wait()
		t.Fatalf("owner: %s", line[:n])
	}
	st, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = owner.Process.Kill()
	_ = owner.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for _, n := range st.Nodes {
		for Alive(n) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if Alive(n) {
			t.Errorf("%s (pid %d) outlived the process that started it", n.Name, n.PID)
			_ = syscall.Kill(n.PID, syscall.SIGKILL)
		}
	}
}

// TestKafka runs the queue on kfake (in-process fake, not a real broker).
func TestKafka(t *testing.T) {
	c := start(t, Spec{Queue: QueueKafka})
	if len(c.Kafka) == 0 {
		t.Fatal("no kfake address")
	}
	in := connect(t, device.TCP, c.TCP[0], "k")
	pushKey(t, c.HTTP, "k", "via-kfake")
	expect(t, in, "1000 via-kfake")
}

func TestSpecErrors(t *testing.T) {
	used := t.TempDir()
	if err := os.MkdirAll(filepath.Join(used, "data", "etcd", "member"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		spec Spec
		want string
	}{
		{Spec{Bin: bin, Dir: used}, "earlier cluster's data"},
		{Spec{}, "Bin"},
		{Spec{Bin: bin, Edges: MaxEdges + 1}, "Edges"},
		{Spec{Bin: bin, Queue: "nats"}, "Queue"},
		{Spec{Bin: bin, Queue: QueueKafka, Detach: true}, "cannot outlive"},
		{Spec{Bin: bin, RPCSecret: "short"}, "16"},
		{Spec{Bin: bin, Sets: []string{"noequals"}}, "key=value"},
		{Spec{Bin: bin, Sets: []string{"redis:a=b"}}, "role"},
		{Spec{Bin: filepath.Join(t.TempDir(), "nope")}, "not an executable"},
	}
	for _, tc := range cases {
		_, err := Start(context.Background(), tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.spec, err, tc.want)
		}
	}
}

func TestSetsFor(t *testing.T) {
	s := Spec{Sets: []string{"log.format=json", "edge:edge.room_batch_window=40ms", "job:a.b=c:d"}}
	if got := fmt.Sprint(s.setsFor(roleEdge)); got != "[-set log.format=json -set edge.room_batch_window=40ms]" {
		t.Errorf("edge: %s", got)
	}
	if got := fmt.Sprint(s.setsFor(roleJob)); got != "[-set log.format=json -set a.b=c:d]" {
		t.Errorf("job: %s", got)
	}
}
