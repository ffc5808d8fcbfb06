package edge

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	kitexserver "github.com/cloudwego/kitex/server"
	"github.com/gorilla/websocket"

	logicsvc "github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/auth"
	"github.com/goim-edge/goim-edge/control/logic/store/memory"
	qmemory "github.com/goim-edge/goim-edge/control/queue/memory"
	logicclient "github.com/goim-edge/goim-edge/kitex_gen/logic/logic"
	"github.com/goim-edge/goim-edge/protocol"
)

// The memory and fan-out benchmarks put the device side — thousands of
// client sockets and the logic service — in a child process (this test
// binary re-run with childEnv set), so that the edge process holds only
// its own sockets (20,000 open files per process) and its heap counts
// only the edge.
const childEnv = "EDGE_BENCH_CHILD"

func TestMain(m *testing.M) {
	// As the binary does at start: the edge's tests measure and rely on
	// its small connection buffers.
	if err := TuneNetpoll(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if addr := os.Getenv(edgeChildEnv); addr != "" {
		if err := runEdgeChild(addr, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "edge child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(childEnv) != "" {
		if err := runChild(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startLogic serves the real logic (memory store and queue, JSON auth)
// over Kitex on a loopback port.
func startLogic(lmod func(*logicsvc.Config)) (addr string, stop func(), err error) {
	lcfg := logicsvc.DefaultConfig()
	if lmod != nil {
		lmod(&lcfg)
	}
	st := memory.New()
	q := qmemory.New(qmemory.DefaultConfig())
	a, err := auth.New(auth.DefaultConfig(), nil)
	if err != nil {
		return "", nil, err
	}
	l, err := logicsvc.New(lcfg, logicsvc.Deps{Store: st, Queue: q, Auth: a})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	svr := logicclient.NewServer(l, kitexserver.WithListener(ln), kitexserver.WithExitSignal(never))
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	return ln.Addr().String(), func() {
		_ = svr.Stop()
		<-done
		q.Close()
		_ = st.Close()
	}, nil
}

// childCmd is one instruction to the child: open N devices on Addr.
type childCmd struct {
	Proto string // "tcp" or "ws"
	Addr  string
	N     int
	Room  string
	// Count: read pushes and report each time Expect frames arrived.
	Expect int64
}

// runChild starts logic, prints its address, then follows commands (one
// JSON per line), answering "ok" or "error ..." per command; stdin EOF
// ends it.
func runChild(in io.Reader, out io.Writer) error {
	addr, stop, err := startLogic(nil)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintln(out, addr)
	sc := bufio.NewScanner(in)
	var conns []io.Closer
	var received atomic.Int64
	for sc.Scan() {
		var cmd childCmd
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			return err
		}
		if cmd.N == 0 { // wait until Expect frames arrived
			deadline := time.Now().Add(5 * time.Minute)
			for received.Load() < cmd.Expect && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			fmt.Fprintln(out, "ok", received.Load())
			continue
		}
		cs, err := openDevices(cmd, &received)
		conns = append(conns, cs...)
		if err != nil {
			fmt.Fprintln(out, "error", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Fprintln(out, "ok", len(cs))
	}
	for _, c := range conns {
		_ = c.Close()
	}
	return sc.Err()
}

// openDevices dials and authenticates cmd.N devices, spread over
// 127.0.0.x source addresses so ephemeral ports never run short. With
// cmd.Expect set, each device counts the frames it receives.
func openDevices(cmd childCmd, received *atomic.Int64) ([]io.Closer, error) {
	var (
		mu    sync.Mutex
		conns []io.Closer
		first error
		wg    sync.WaitGroup
		next  atomic.Int64
	)
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cmd.N {
					return
				}
				local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/50000), byte(2+i%200))}
				var rooms []string
				if cmd.Room != "" {
					rooms = []string{cmd.Room}
				}
				tok := token(int64(i), fmt.Sprintf("dev-%s-%d-%d", cmd.Proto, time.Now().UnixNano(), i), rooms, 1000)
				c, err := openDevice(cmd.Proto, cmd.Addr, local, tok, cmd.Expect > 0, received)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("device %d: %w", i, err)
				}
				if c != nil {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return conns, first
}

func openDevice(proto, addr string, local *net.TCPAddr, tok []byte, count bool, received *atomic.Int64) (io.Closer, error) {
	d := net.Dialer{LocalAddr: local, Timeout: 10 * time.Second}
	authFrame := protocol.AppendFrame(nil, 1, protocol.OpAuth, 1, tok)
	switch proto {
	case "tcp":
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		if _, err := c.Write(authFrame); err != nil {
			c.Close()
			return nil, err
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		f, _, err := protocol.ReadFrame(c, nil, protocol.MaxPackSize)
		if err != nil || f.Op != protocol.OpAuthReply {
			c.Close()
			return nil, fmt.Errorf("auth: op %d, %v", f.Op, err)
		}
		_ = c.SetReadDeadline(time.Time{})
		if count {
			go func() {
				r := bufio.NewReaderSize(c, 4096)
				buf := make([]byte, 0, 256)
				for {
					var err error
					if _, buf, err = protocol.ReadFrame(r, buf, 1<<20); err != nil {
						return
					}
					received.Add(1)
				}
			}()
		}
		return c, nil
	case "ws":
		wd := websocket.Dialer{NetDial: func(network, a string) (net.Conn, error) { return d.Dial(network, a) }, HandshakeTimeout: 30 * time.Second, ReadBufferSize: 256, WriteBufferSize: 256}
		c, _, err := wd.Dial("ws://"+addr+"/sub", nil)
		if err != nil {
			return nil, err
		}
		if err := c.WriteMessage(websocket.BinaryMessage, authFrame); err != nil {
			c.Close()
			return nil, err
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil || len(msg) < 16 || msg[11] != byte(protocol.OpAuthReply) {
			c.Close()
			return nil, fmt.Errorf("auth: %x, %v", msg, err)
		}
		_ = c.SetReadDeadline(time.Time{})
		if count {
			// Counts frames as the TCP devices do: an op-9 message holds
			// several.
			go func() {
				for {
					_, msg, err := c.ReadMessage()
					if err != nil {
						return
					}
					f, err := protocol.DecodeMessage(msg, len(msg))
					if err != nil || f.Op != protocol.OpRaw {
						received.Add(1)
						continue
					}
					_ = protocol.SplitRaw(f.Body, func(protocol.Frame) error { received.Add(1); return nil })
				}
			}()
		}
		return c, nil
	}
	return nil, fmt.Errorf("unknown proto %q", proto)
}

// child is the parent's handle on a device process.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	logic string
}

func startChild(tb testing.TB) *child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(outp)}
	tb.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	c.logic = c.line(tb)
	return c
}

func (c *child) line(tb testing.TB) string {
	tb.Helper()
	for c.out.Scan() {
		l := c.out.Text()
		// The child's libraries log to stdout too; answers are ours.
		if strings.HasPrefix(l, "ok") || strings.HasPrefix(l, "error") || strings.HasPrefix(l, "127.0.0.1:") {
			return l
		}
	}
	tb.Fatalf("child ended: %v", c.out.Err())
	return ""
}

func (c *child) do(tb testing.TB, cmd childCmd) string {
	tb.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := fmt.Fprintf(c.in, "%s\n", b); err != nil {
		tb.Fatal(err)
	}
	l := c.line(tb)
	if !strings.HasPrefix(l, "ok") {
		tb.Fatalf("child: %s", l)
	}
	return l
}

// logicClient dials the child's logic.
func (c *child) logicClient(tb testing.TB) logicclient.Client {
	tb.Helper()
	cli, err := logicclient.NewClient("goim.logic", client.WithHostPorts(c.logic), client.WithRPCTimeout(30*time.Second), client.WithConnectTimeout(5*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	return cli
}
