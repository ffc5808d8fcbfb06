package httpapi

import (
	"context"

	"github.com/cloudwego/hertz/pkg/app"
)

// GET /goim/nodes/weighted?platform=
func (a *api) nodesWeighted(ctx context.Context, c *app.RequestContext) {
	resp, err := a.l.WeightedNodes(ctx, string(c.QueryArgs().Peek("platform")), c.ClientIP())
	if err != nil {
		writeError(c, err)
		return
	}
	writeData(c, resp)
}

// GET /goim/nodes/instances
func (a *api) nodesInstances(_ context.Context, c *app.RequestContext) {
	writeData(c, a.l.EdgeInstances())
}
