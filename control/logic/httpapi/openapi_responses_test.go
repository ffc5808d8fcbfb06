package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/registry/static"
)

// TestResponsesMatchOpenAPI sends real requests, good and bad, to the API
// and validates each request and answer against the OpenAPI document, so
// the document describes what the API does, not only which routes exist.
func TestResponsesMatchOpenAPI(t *testing.T) {
	doc := loadSpec(t)
	doc.Servers = nil // match requests to the test server's port
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	const key = "k3y-for-openapi-test"
	edges := static.New(registry.Instance{Service: registry.ServiceEdge, Node: "edge-a", Weight: 10,
		Addrs: registry.Addrs{TCP: "10.0.0.1:3101", WS: "10.0.0.1:3102"}, Public: registry.Addrs{TCP: "203.0.113.7:3101"}})
	a := newAPI(t, Config{APIKey: key}, edges, historyOn)
	a.route(t, 7, "key-7", "edge-a")
	tests := []struct {
		method, target, body string
		auth                 bool
		status               int
	}{
		{"POST", "/goim/push/keys?operation=1000&keys=key-7", "hi", true, 200},
		{"POST", "/goim/push/mids?operation=1000&mids=7&positions=1", "hi", true, 200},
		{"POST", "/goim/push/room?operation=1000&type=live&room=1", "hi", true, 200},
		{"POST", "/goim/push/all?operation=1000&speed=10", "hi", true, 200},
		{"POST", "/goim/push/keys?operation=3&keys=key-7", "hi", true, 400},
		{"POST", "/goim/push/keys?operation=1000&keys=key-7", "hi", false, 401},
		{"GET", "/goim/online/top?type=live&limit=5", "", true, 200},
		{"GET", "/goim/online/room?type=live&rooms=1&rooms=2", "", true, 200},
		{"GET", "/goim/online/total", "", true, 200},
		{"GET", "/goim/nodes/weighted?platform=android", "", false, 200},
		{"GET", "/goim/nodes/instances", "", true, 200},
		{"GET", "/goim/history?stream=user:7", "", true, 200},
		{"GET", "/goim/history/position?stream=user:7", "", true, 200},
		{"GET", "/goim/history/position", "", true, 400},
		{"GET", "/goim/openapi.json", "", false, 200},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, a.url+tt.target, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		if tt.auth {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: not in the document: %v", tt.method, tt.target, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if tt.status != 400 {
			// A request the API refuses may break the document's rules on purpose.
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Errorf("%s %s: request does not match the document: %v", tt.method, tt.target, err)
			}
			req.Body = io.NopCloser(strings.NewReader(tt.body))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d %s, want %d", tt.method, tt.target, resp.StatusCode, body, tt.status)
			continue
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s: answer %s does not match the document: %v", tt.method, tt.target, body, err)
		}
	}
}
