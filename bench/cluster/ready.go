package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/goim-edge/goim-edge/bench/procstat"
)

// jobEdges is the job gauge counting the edges a job routes to.
const jobEdges = "goim_job_edges"

// httpOK is nil when GET url answers 200.
func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// redisPing is nil when the redis-server at addr answers PING.
func redisPing(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
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
		return fmt.Errorf("redis answered %q", strings.TrimSpace(line))
	}
	return nil
}

// seesEdges is nil when the job whose metrics are at url routes to n
// edges.
func seesEdges(n int) func(ctx context.Context, url string) error {
	return func(ctx context.Context, url string) error {
		m, err := procstat.Scrape(ctx, url)
		if err != nil {
			return err
		}
		got, ok := m[jobEdges]
		if !ok {
			return fmt.Errorf("%s has no %s", url, jobEdges)
		}
		if int(got) != n {
			return fmt.Errorf("%s %v, want %d", jobEdges, got, n)
		}
		return nil
	}
}
