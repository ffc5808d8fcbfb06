package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
)

// nodesReply is logic's GET /goim/nodes/weighted answer (goim's shape).
type nodesReply struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Domain  string   `json:"domain"`
		TCPPort int      `json:"tcp_port"`
		WSPort  int      `json:"ws_port"`
		WSSPort int      `json:"wss_port"`
		Nodes   []string `json:"nodes"`
	} `json:"data"`
}

// fetchNodes asks logic for the edges to dial, best first, as addresses
// for o.Transport.
func fetchNodes(ctx context.Context, o *Options) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.NodesURL, nil)
	if err != nil {
		return nil, fmt.Errorf("client: nodes: %w", err)
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: nodes: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("client: nodes: read: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("client: nodes: %s: %.200s", resp.Status, body)
	}
	var r nodesReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("client: nodes: decode: %w", err)
	}
	if r.Code != 0 {
		return nil, fmt.Errorf("client: nodes: code %d: %s", r.Code, r.Message)
	}
	return nodeAddrs(r, o), nil
}

// nodeAddrs are the addresses of the listed nodes for o's transport. A
// port of 0 means the cluster does not serve that transport (logic
// reports wss_port 0 when no edge serves WSS): then there is none, and
// the client falls back to Options.Addrs.
func nodeAddrs(r nodesReply, o *Options) []string {
	port, scheme := r.Data.TCPPort, ""
	switch o.Transport {
	case WS:
		port, scheme = r.Data.WSPort, "ws://"
	case WSS:
		port, scheme = r.Data.WSSPort, "wss://"
	}
	if port <= 0 {
		return nil
	}
	out := make([]string, 0, len(r.Data.Nodes))
	for _, n := range r.Data.Nodes {
		a := net.JoinHostPort(n, strconv.Itoa(port))
		if scheme != "" {
			a = scheme + a + o.WSPath
		}
		out = append(out, a)
	}
	return out
}
