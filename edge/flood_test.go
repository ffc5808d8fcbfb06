package edge

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/goim-edge/goim-edge/kitex_gen/edge"
	edgeclient "github.com/goim-edge/goim-edge/kitex_gen/edge/edge"
	logicclient "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/protocol"
)

// The flood test runs the edge alone in a child process (this test
// binary re-run with edgeChildEnv naming logic's address), so that the
// edge's resident memory can be read from /proc while the devices and
// logic stay in the test process.
const edgeChildEnv = "EDGE_TEST_EDGE_CHILD"

// runEdgeChild serves an edge with the default limits on loopback,
// prints "edge-addrs <tcp> <rpc>", and runs until stdin closes.
func runEdgeChild(logicAddr string, in io.Reader, out io.Writer) error {
	lc, err := logicclient.NewClient("goim.logic", client.WithHostPorts(logicAddr), client.WithRPCTimeout(30*time.Second), client.WithConnectTimeout(5*time.Second))
	if err != nil {
		return err
	}
	cfg := DefaultConfig()
	cfg.Node = "edge-flood"
	cfg.TCPAddr, cfg.WSAddr, cfg.RPCAddr = "127.0.0.1:0", "", "127.0.0.1:0"
	e, err := New(cfg, lc)
	if err != nil {
		return err
	}
	if err := e.Start(); err != nil {
		return err
	}
	fmt.Fprintln(out, "edge-addrs", e.Addrs().TCP, e.Addrs().RPC)
	_, _ = io.Copy(io.Discard, in)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.Shutdown(ctx)
}

// rssBytes is the resident set of process pid (VmRSS), or 0 when gone.
func rssBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Flood test bounds.
const (
	floodDevices = 200
	// floodCeiling is the edge's resident memory the flood may not pass:
	// the default max_input_buffer (64 KiB) and receive buffer per
	// flooding device are about 40 MiB for 200 devices, on top of the
	// idle edge; without limits the edge grew by about 1 GB/s.
	floodCeiling = 384 << 20
	// floodAbort stops the test (and kills the edge) before the machine
	// suffers.
	floodAbort = 1 << 30
	// floodDeadline is how long the flooders may stay connected.
	floodDeadline = 30 * time.Second
	// neighbourBound is a generous bound on the neighbour's heartbeat
	// round trip and push latency during the flood (idle: under 1 ms; the
	// flood saturates both cores of a small test machine for a few
	// seconds, and -race slows the edge several times over).
	neighbourBound = 5 * time.Second
)

// TestUpstreamFlood: 200 authenticated devices write op-4 frames in a
// loop without reading. The edge (default limits) disconnects every one
// of them within floodDeadline, its resident memory stays under
// floodCeiling, and a neighbour device on the same edge keeps getting
// heartbeat replies and pushes within neighbourBound.
func TestUpstreamFlood(t *testing.T) {
	logicAddr, stopLogic, err := startLogic(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopLogic)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), edgeChildEnv+"="+logicAddr)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var tcpAddr, rpcAddr string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "edge-addrs" {
			tcpAddr, rpcAddr = f[1], f[2]
			break
		}
	}
	if tcpAddr == "" {
		t.Fatalf("edge child did not start: %v", sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	pid := cmd.Process.Pid

	// Watch the edge's memory from now on; past floodAbort, kill it.
	var peak atomic.Int64
	var aborted atomic.Bool
	watchDone := make(chan struct{})
	stopWatch := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(20 * time.Millisecond):
			}
			r := rssBytes(pid)
			if r > peak.Load() {
				peak.Store(r)
			}
			if r > floodAbort {
				aborted.Store(true)
				_ = cmd.Process.Kill()
				return
			}
		}
	}()
	defer func() {
		select {
		case <-stopWatch:
		default:
			close(stopWatch)
		}
		<-watchDone
	}()

	rpc, err := edgeclient.NewClient("goim.edge", client.WithHostPorts(rpcAddr),
		client.WithRPCTimeout(10*time.Second), client.WithConnectTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	neighbour := dialTCP(t, tcpAddr)
	neighbour.auth(token(1, "k-neighbour", nil, 1000))
	// One push before the flood, so the RPC connection (as job would
	// hold it) exists and the push latency measured is the edge's.
	if _, err := rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"k-neighbour"}, Op: 1000, Body: []byte("warm")}); err != nil {
		t.Fatal(err)
	}
	if f := neighbour.read(); string(f.Body) != "warm" {
		t.Fatalf("warm-up push: %q", f.Body)
	}

	flooders := make([]net.Conn, floodDevices)
	for i := range flooders {
		c := dialTCP(t, tcpAddr)
		c.auth(token(int64(100+i), fmt.Sprintf("k-flood-%d", i), nil))
		flooders[i] = c.c
	}
	idle := rssBytes(pid)
	t.Logf("edge RSS with %d idle devices: %.1f MiB", floodDevices+1, float64(idle)/(1<<20))

	// Every flooder writes 16 KiB batches of op-4 frames until the edge
	// hangs up (or the deadline passes); none reads its replies.
	frame := protocol.AppendFrame(nil, 1, protocol.OpSendMsg, 1, []byte(strings.Repeat("x", 64)))
	chunk := make([]byte, 0, 16<<10)
	for len(chunk)+len(frame) <= cap(chunk) {
		chunk = append(chunk, frame...)
	}
	start := time.Now()
	deadline := start.Add(floodDeadline)
	var wg sync.WaitGroup
	var connected atomic.Int64
	var lastGone atomic.Int64
	connected.Store(floodDevices)
	for _, c := range flooders {
		wg.Go(func() {
			defer func() {
				lastGone.Store(int64(time.Since(start)))
				connected.Add(-1)
			}()
			for time.Now().Before(deadline) && !aborted.Load() {
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.Write(chunk); err != nil {
					var ne net.Error
					if ok := asNetError(err, &ne); ok && ne.Timeout() {
						continue // the edge reads slower than we write; keep pushing
					}
					return // the edge hung up
				}
			}
		})
	}

	// Meanwhile the neighbour heartbeats and takes pushes.
	var worstHB, worstPush time.Duration
	rounds := 0
	for connected.Load() > 0 && time.Now().Before(deadline.Add(5*time.Second)) && !aborted.Load() {
		t0 := time.Now()
		neighbour.send(protocol.OpHeartbeat, int32(rounds), nil)
		f, err := neighbour.tryRead(10 * time.Second)
		if err != nil || f.Op != protocol.OpHeartbeatReply {
			failIfAborted(t, &aborted)
			t.Fatalf("neighbour heartbeat %d during the flood: op %d, %v", rounds, f.Op, err)
		}
		worstHB = max(worstHB, time.Since(t0))
		t0 = time.Now()
		body := []byte("p" + strconv.Itoa(rounds))
		if _, err := rpc.PushKeys(context.Background(), &edge.PushKeysReq{Keys: []string{"k-neighbour"}, Op: 1000, Body: body}); err != nil {
			failIfAborted(t, &aborted)
			t.Fatalf("push to the neighbour during the flood: %v", err)
		}
		f, err = neighbour.tryRead(10 * time.Second)
		if err != nil || string(f.Body) != string(body) {
			failIfAborted(t, &aborted)
			t.Fatalf("neighbour push %d during the flood: %q, %v", rounds, f.Body, err)
		}
		worstPush = max(worstPush, time.Since(t0))
		rounds++
		// Under 20 heartbeats/s: back-to-back heartbeats draw from the
		// neighbour's own upstream bucket (heartbeatFreeGap).
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	close(stopWatch)
	<-watchDone

	t.Logf("flooders gone after %v; neighbour worst heartbeat %v, worst push %v over %d rounds; edge RSS peak %.1f MiB (idle %.1f MiB)",
		time.Duration(lastGone.Load()).Round(time.Millisecond), worstHB.Round(time.Microsecond), worstPush.Round(time.Microsecond), rounds,
		float64(peak.Load())/(1<<20), float64(idle)/(1<<20))
	failIfAborted(t, &aborted)
	if n := connected.Load(); n > 0 {
		t.Fatalf("%d of %d flooding devices still connected after %v", n, floodDevices, floodDeadline)
	}
	if time.Duration(lastGone.Load()) > floodDeadline {
		t.Fatalf("flooders disconnected only after %v", time.Duration(lastGone.Load()))
	}
	if p := peak.Load(); p > floodCeiling {
		t.Fatalf("edge RSS peaked at %.1f MiB during the flood, over the %d MiB ceiling", float64(p)/(1<<20), floodCeiling>>20)
	}
	if worstHB > neighbourBound || worstPush > neighbourBound {
		t.Fatalf("neighbour worst heartbeat %v, push %v; want both under %v", worstHB, worstPush, neighbourBound)
	}
	// The neighbour is still served after the flood.
	neighbour.send(protocol.OpHeartbeat, 1<<20, nil)
	if f := neighbour.read(); f.Op != protocol.OpHeartbeatReply {
		t.Fatalf("neighbour after the flood: op %d", f.Op)
	}
}

// failIfAborted fails the test when the memory watch killed the edge.
func failIfAborted(t *testing.T, aborted *atomic.Bool) {
	t.Helper()
	if aborted.Load() {
		t.Fatalf("edge RSS passed %d MiB: the edge was killed and the flood test aborted", floodAbort>>20)
	}
}

func asNetError(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}
