package testenv

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// Etcd starts a private single-member etcd for the test and stops it at
// cleanup. Its data dir survives Stop/Start, so restart tests see the same
// cluster.
func Etcd(tb testing.TB) *Server {
	tb.Helper()
	client, peer := FreePort(tb), FreePort(tb)
	s := &Server{
		Name: "etcd",
		Addr: fmt.Sprintf("127.0.0.1:%d", client),
		Dir:  tb.TempDir(),
		bin:  lookBinary(tb, "etcd"),
	}
	clientURL := "http://" + s.Addr
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	s.args = func() []string {
		return []string{
			"--name", "test", "--data-dir", s.Dir + "/data",
			"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
			"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", "test=" + peerURL, "--initial-cluster-state", "new",
			"--log-level", "error",
		}
	}
	s.ready = etcdHealthy
	return s.startOrFail(tb)
}

func etcdHealthy(addr string) error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd /health: %d %s", resp.StatusCode, body)
	}
	return nil
}
