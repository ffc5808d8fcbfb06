package cluster

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Probe says how node n answers its readiness check right now, as
// deploy/local/cluster.sh status printed it: "ready" or "unready" for
// redis (PING), "health NNN" for etcd (/health), "readyz NNN" for a
// goim-edge node (admin /readyz); NNN is the HTTP status, 000 for no
// answer.
func Probe(ctx context.Context, n *Node) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	switch n.Role {
	case roleRedis:
		if redisPing(ctx, n.Addrs["client"]) == nil {
			return "ready"
		}
		return "unready"
	case roleEtcd:
		return "health " + httpStatus(ctx, "http://"+n.Addrs["client"]+"/health")
	default:
		return "readyz " + httpStatus(ctx, n.AdminURL+"/readyz")
	}
}

// httpStatus is GET url's status code, "000" without an answer.
func httpStatus(ctx context.Context, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "000"
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "000"
	}
	resp.Body.Close()
	return fmt.Sprintf("%03d", resp.StatusCode)
}
