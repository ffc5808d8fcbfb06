package app

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/goim-edge/goim-edge/control/logic/httpapi"
)

// TestOpenAPICoversEveryRoute walks the routes of the Hertz router a
// standalone logic really serves (demo page on, so every optional route is
// there) and checks each method and path is in the OpenAPI document, and
// that the document describes no route the router lacks.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	c := testConfig()
	c.Logic.DemoPage = true
	c.Edge.TCPAddr, c.Edge.WSAddr, c.Edge.RPCAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	c.Logic.HTTPAddr, c.Logic.RPCAddr, c.Logic.AdminAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	n, err := startWithin(t, func() (node, error) { return startStandalone(context.Background(), c, discardLog()) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)
	served := map[string]bool{}
	for _, r := range n.(*standalone).logic.hz.Engine().Routes() {
		served[r.Method+" "+r.Path] = true
	}
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, r := range sortedKeys(served) {
		if !described[r] {
			t.Errorf("%s is served but not in control/logic/httpapi/openapi.json", r)
		}
	}
	for _, r := range sortedKeys(described) {
		if !served[r] {
			t.Errorf("%s is in openapi.json but not served", r)
		}
	}
	if len(served) < 15 {
		t.Fatalf("only %d routes served: %v", len(served), sortedKeys(served))
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
