package httpapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// loadSpec parses and validates the embedded OpenAPI document.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// TestOpenAPIServedPublicly: the document parses as OpenAPI 3, names
// every route constant of this package, and is served byte for byte
// without the API key (it holds no data).
func TestOpenAPIServedPublicly(t *testing.T) {
	doc := loadSpec(t)
	for _, r := range []string{RoutePushKeys, RoutePushMids, RoutePushRoom, RoutePushAll,
		RouteOnlineTop, RouteOnlineRoom, RouteOnlineTotal, RouteNodesWeighted, RouteNodesInstances,
		RouteHistory, RouteHistoryPosition, RouteOpenAPI} {
		if doc.Paths.Find(r) == nil {
			t.Errorf("%s is not in openapi.json", r)
		}
	}
	a := newAPI(t, Config{APIKey: "k3y-for-openapi-test"}, nil)
	status, ctype, body := a.do(t, "GET", RouteOpenAPI, "")
	if status != 200 || ctype != "application/json" || body != string(OpenAPI) {
		t.Fatalf("GET %s: %d %q, %d bytes; want 200 and the embedded document", RouteOpenAPI, status, ctype, len(body))
	}
	if !json.Valid([]byte(body)) {
		t.Fatal("served document is not JSON")
	}
}

// TestOpenAPIPublicRoutesMatchAuth: the routes the document marks public
// (security: []) are exactly those the API serves without the key.
func TestOpenAPIPublicRoutesMatchAuth(t *testing.T) {
	doc := loadSpec(t)
	a := newAPI(t, Config{APIKey: "k3y-for-openapi-test"}, nil)
	for _, r := range []string{RoutePushKeys, RoutePushMids, RoutePushRoom, RoutePushAll,
		RouteOnlineTop, RouteOnlineRoom, RouteOnlineTotal, RouteNodesWeighted, RouteNodesInstances,
		RouteHistory, RouteHistoryPosition, RouteOpenAPI} {
		item := doc.Paths.Find(r)
		if item == nil {
			continue // reported by TestOpenAPIServedPublicly
		}
		method, op := "GET", item.Get
		if op == nil {
			method, op = "POST", item.Post
		}
		public := op.Security != nil && len(*op.Security) == 0
		status, _, _ := a.do(t, method, r, "")
		if refused := status == 401; refused == public {
			t.Errorf("%s %s: public in the document %v, answered %d without the key", method, r, public, status)
		}
	}
}
