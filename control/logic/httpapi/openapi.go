package httpapi

import (
	"context"
	_ "embed"
	"net/http"

	"github.com/cloudwego/hertz/pkg/app"
)

// RouteOpenAPI serves the OpenAPI 3 document of every route on logic's
// HTTP port. It is public, like /goim/nodes/weighted: it describes the
// API (which goim's own docs publish anyway) and holds no data.
const RouteOpenAPI = "/goim/openapi.json"

// OpenAPI is the API's OpenAPI 3 document (openapi.json next to this
// file), kept in the binary so that what a logic node serves describes
// that node's version.
//
//go:embed openapi.json
var OpenAPI []byte

// GET /goim/openapi.json
func (a *api) openAPI(_ context.Context, c *app.RequestContext) {
	c.Data(http.StatusOK, "application/json", OpenAPI)
}
