package demo

import (
	"bytes"
	"os"
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
		{"/", "text/html", `<script type="module" src="/demo/app.js">`},
		{"/demo/app.js", "text/javascript", "from '/demo/goim.js'"},
		{"/demo/goim.js", "text/javascript", "export class GoimClient"},
		{"/demo/goim.d.ts", "text/plain", "export declare class GoimClient"},
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

// TestServesPublishedSDK: the page's SDK is clients/js/goim.js byte for
// byte, the file package.json publishes.
func TestServesPublishedSDK(t *testing.T) {
	hz := server.Default(server.WithHostPorts("127.0.0.1:0"))
	if err := Register(hz, Config{}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../clients/js/goim.js")
	if err != nil {
		t.Fatal(err)
	}
	got := ut.PerformRequest(hz.Engine, "GET", "/demo/goim.js", nil).Result().Body()
	if !bytes.Equal(got, want) {
		t.Fatalf("/demo/goim.js (%d bytes) differs from clients/js/goim.js (%d bytes)", len(got), len(want))
	}
}
