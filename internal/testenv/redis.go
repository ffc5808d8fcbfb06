package testenv

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis starts a private redis-server (no persistence) for the test and
// stops it at cleanup.
func Redis(tb testing.TB) *Server {
	tb.Helper()
	port := FreePort(tb)
	s := &Server{
		Name: "redis-server",
		Addr: fmt.Sprintf("127.0.0.1:%d", port),
		Dir:  tb.TempDir(),
		bin:  lookBinary(tb, "redis-server"),
	}
	s.args = func() []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.Dir, "--protected-mode", "no"}
	}
	s.ready = redisPing
	return s.startOrFail(tb)
}

func redisPing(addr string) error {
	c, err := dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis answered %q", line)
	}
	return nil
}
