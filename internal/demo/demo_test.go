package demo

import (
	"strings"
	"testing"

	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/common/ut"
)

func TestRegisterServesPage(t *testing.T) {
	hz := server.Default(server.WithHostPorts("127.0.0.1:0"))
	if err := Register(hz, Config{WSPort: 4102}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, ctype, want string
	}{
		{"/", "text/html", `<script src="/demo/app.js">`},
		{"/demo/app.js", "text/javascript", "decodeFrames"},
		{"/demo/style.css", "text/css", "#messages"},
		{"/demo/config.json", "application/json", `{"ws_port":4102}`},
	}
	for _, tt := range tests {
		w := ut.PerformRequest(hz.Engine, "GET", tt.path, nil)
		resp := w.Result()
		if resp.StatusCode() != 200 {
			t.Fatalf("GET %s: %d", tt.path, resp.StatusCode())
		}
		if ct := string(resp.Header.ContentType()); !strings.HasPrefix(ct, tt.ctype) {
			t.Errorf("GET %s: content type %q, want %s", tt.path, ct, tt.ctype)
		}
		if !strings.Contains(string(resp.Body()), tt.want) {
			t.Errorf("GET %s: body lacks %q", tt.path, tt.want)
		}
	}
}
