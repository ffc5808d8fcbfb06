package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/common/ut"

	"github.com/goim-edge/goim-edge/control/logic"
	"github.com/goim-edge/goim-edge/control/logic/internal/logictest"
	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/memory"
)

// FuzzRoutes throws arbitrary query strings and bodies at every route: the
// answer must always be a well-formed goim envelope, 200 with code 0 or
// 400 with code -400 (the store and queue here never fail), never a panic.
func FuzzRoutes(f *testing.F) {
	st := logictest.MemoryStore(f)
	q := memory.New(memory.DefaultConfig())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go q.Run(ctx, func(context.Context, *queue.Delivery) error { return nil }) //nolint:errcheck
	defer q.Close()
	lcfg := logic.DefaultConfig()
	lcfg.MaxBodyBytes = 64
	l, err := logic.New(lcfg, logic.Deps{Store: st, Queue: q, Auth: logictest.Auth(f)})
	if err != nil {
		f.Fatal(err)
	}
	h := server.New(server.WithDisablePrintRoute(true))
	Register(h, l, DefaultConfig())
	routes := []struct{ method, path string }{
		{http.MethodPost, RoutePushKeys}, {http.MethodPost, RoutePushMids},
		{http.MethodPost, RoutePushRoom}, {http.MethodPost, RoutePushAll},
		{http.MethodGet, RouteOnlineTop}, {http.MethodGet, RouteOnlineRoom},
		{http.MethodGet, RouteOnlineTotal}, {http.MethodGet, RouteNodesInstances},
	}
	f.Add(uint8(0), "operation=1000&keys=a&keys=b,c", []byte("hi"))
	f.Add(uint8(1), "operation=1001&mids=1,2&mids=-3", []byte("x"))
	f.Add(uint8(2), "operation=9&type=live&room=1000", []byte("x"))
	f.Add(uint8(3), "operation=1002&speed=9", []byte("x"))
	f.Add(uint8(4), "type=live&limit=10", []byte(nil))
	f.Add(uint8(5), "type=live&rooms=1,2&rooms=%00", []byte(nil))
	f.Add(uint8(0), "operation=%zz&keys=", []byte{})
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		for _, c := range []byte(query) {
			if c <= ' ' || c >= 0x7f || c == '#' {
				return // not a query string a client can send; the router answers it
			}
		}
		r := routes[int(route)%len(routes)]
		w := ut.PerformRequest(h.Engine, r.method, r.path+"?"+query, &ut.Body{Body: bytes.NewReader(body), Len: len(body)})
		resp := w.Result()
		var env struct {
			Code    *int32          `json:"code"`
			Message *string         `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(resp.Body(), &env); err != nil || env.Code == nil || env.Message == nil {
			t.Fatalf("%s %s?%q: not an envelope: %q", r.method, r.path, query, resp.Body())
		}
		switch status := resp.StatusCode(); {
		case status == 200 && *env.Code == 0:
		case status == 400 && *env.Code == -400 && *env.Message != "":
		default:
			t.Fatalf("%s %s?%q body %q: %d %s", r.method, r.path, query, body, status, resp.Body())
		}
	})
}
