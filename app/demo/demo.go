// Package demo serves the demo console on logic's HTTP port: one static
// page built on the JavaScript SDK (clients/js, served at /demo/goim.js
// from the same embedded bytes that are published), with a device that
// reconnects, a message log, forms to push through the /goim/push routes
// and a cluster panel from the online and nodes APIs. Everything is
// embedded in the binary; there is no build step.
package demo

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"

	sdk "github.com/goim-edge/goim-edge/clients/js"
)

//go:embed web
var web embed.FS

// Config tells the page where devices connect.
type Config struct {
	// WSURL is the full WebSocket URL ("ws://host:3102/sub"); it wins
	// over WSPort.
	WSURL string `json:"ws_url,omitempty"`
	// WSPort is the edge WebSocket port on the page's own host (standalone).
	// Zero with no WSURL: the page asks /goim/nodes/weighted.
	WSPort int `json:"ws_port,omitempty"`
}

// Register adds "/" and /demo/* to hz.
func Register(hz *server.Hertz, c Config) error {
	cfg, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("demo: config: %w", err)
	}
	for _, f := range []struct{ route, file, ctype string }{
		{"/", "web/index.html", "text/html; charset=utf-8"},
		{"/demo/app.js", "web/app.js", "text/javascript; charset=utf-8"},
		{"/demo/style.css", "web/style.css", "text/css; charset=utf-8"},
	} {
		body, err := web.ReadFile(f.file)
		if err != nil {
			return fmt.Errorf("demo: %s: %w", f.file, err)
		}
		hz.GET(f.route, serve(f.ctype, body))
	}
	hz.GET("/demo/goim.js", serve("text/javascript; charset=utf-8", sdk.Module))
	hz.GET("/demo/goim.d.ts", serve("text/plain; charset=utf-8", sdk.Types))
	hz.GET("/demo/config.json", serve("application/json", cfg))
	return nil
}

func serve(ctype string, body []byte) app.HandlerFunc {
	return func(_ context.Context, c *app.RequestContext) {
		c.Response.Header.Set("Cache-Control", "no-cache")
		c.Data(200, ctype, body)
	}
}
