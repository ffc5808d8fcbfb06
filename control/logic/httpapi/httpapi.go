// Package httpapi is goim's HTTP push API on Hertz, byte-compatible with
// goim v2: the same routes, parameters and {"code","message","data"}
// envelope. Every push becomes queue messages through logic.Logic.
package httpapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"

	"github.com/goim-edge/goim-edge/tracing"
)

// Routes of goim's HTTP API.
const (
	RoutePushKeys       = "/goim/push/keys"
	RoutePushMids       = "/goim/push/mids"
	RoutePushRoom       = "/goim/push/room"
	RoutePushAll        = "/goim/push/all"
	RouteOnlineTop      = "/goim/online/top"
	RouteOnlineRoom     = "/goim/online/room"
	RouteOnlineTotal    = "/goim/online/total"
	RouteNodesWeighted  = "/goim/nodes/weighted"
	RouteNodesInstances = "/goim/nodes/instances"
	// RouteHistory and RouteHistoryPosition read the history streams, an
	// extension of goim (docs/history.md).
	RouteHistory         = "/goim/history"
	RouteHistoryPosition = "/goim/history/position"
)

// Register mounts the /goim/... routes on h, next to whatever else main
// serves there (/healthz, the demo page), and answers unknown routes and
// wrong methods in goim's envelope (-404, -405). Call it before h runs:
// it also turns off Hertz's multipart pre-parsing, which would otherwise
// consume the body of a multipart/form-data push that goim passes on raw,
// and raises h's body limit above logic's max_body_bytes when lower.
func Register(h *server.Hertz, l Service, cfg Config) {
	opts := h.GetOptions()
	opts.DisablePreParseMultipartForm = true
	limits := l.Limits()
	if limits.MaxBodyBytes >= opts.MaxRequestBodySize {
		opts.MaxRequestBodySize = limits.MaxBodyBytes + 1 // one byte over still gets goim's 400
	}
	a := &api{l: l, cfg: cfg, maxBody: limits.MaxBodyBytes}
	// A caller's traceparent becomes the parent of the push's spans.
	h.Use(tracing.HertzMiddleware())
	h.POST(RoutePushKeys, a.wrap(RoutePushKeys, true, a.pushKeys))
	h.POST(RoutePushMids, a.wrap(RoutePushMids, true, a.pushMids))
	h.POST(RoutePushRoom, a.wrap(RoutePushRoom, true, a.pushRoom))
	h.POST(RoutePushAll, a.wrap(RoutePushAll, true, a.pushAll))
	h.GET(RouteOnlineTop, a.wrap(RouteOnlineTop, true, a.onlineTop))
	h.GET(RouteOnlineRoom, a.wrap(RouteOnlineRoom, true, a.onlineRoom))
	h.GET(RouteOnlineTotal, a.wrap(RouteOnlineTotal, true, a.onlineTotal))
	h.GET(RouteNodesWeighted, a.wrap(RouteNodesWeighted, false, a.nodesWeighted))
	h.GET(RouteNodesInstances, a.wrap(RouteNodesInstances, true, a.nodesInstances))
	h.GET(RouteHistory, a.wrap(RouteHistory, true, a.history))
	h.GET(RouteHistoryPosition, a.wrap(RouteHistoryPosition, true, a.historyPosition))
	h.GET(RouteOpenAPI, a.wrap(RouteOpenAPI, false, a.openAPI))
	registerFallbacks(h)
}

type api struct {
	l   Service
	cfg Config
	// maxBody is logic's body limit, checked before the body is copied.
	maxBody int
}

// wrap adds the API key check (when configured and the route is private)
// and the request metrics.
func (a *api) wrap(route string, private bool, h app.HandlerFunc) app.HandlerFunc {
	requests := func(status int) {
		requestsTotal.WithLabelValues(route, strconv.Itoa(status)).Inc()
	}
	latency := requestSeconds.WithLabelValues(route)
	return func(ctx context.Context, c *app.RequestContext) {
		start := time.Now()
		if private && a.cfg.APIKey != "" && !a.authorized(c) {
			c.Response.Header.Set("WWW-Authenticate", `Bearer realm="goim"`)
			writeCode(c, http.StatusUnauthorized, -401, "missing or wrong API key (send Authorization: Bearer KEY)")
		} else {
			h(ctx, c)
		}
		requests(c.Response.StatusCode())
		latency.Observe(time.Since(start).Seconds())
	}
}

func (a *api) authorized(c *app.RequestContext) bool {
	const prefix = "Bearer "
	got := c.Request.Header.Peek("Authorization")
	// The scheme is case-insensitive (RFC 9110 §11.1).
	if len(got) <= len(prefix) || !bytes.EqualFold(got[:len(prefix)], []byte(prefix)) {
		return false
	}
	return subtle.ConstantTimeCompare(got[len(prefix):], []byte(a.cfg.APIKey)) == 1
}
