package httpapi

import (
	"io"
	"net/http"
	"testing"
)

// TestFallbacksAnswerInTheEnvelope: an unknown path is -404/HTTP 404 and
// a served path asked with another method is -405/HTTP 405 with Allow,
// both in goim's JSON envelope, with or without an API key.
func TestFallbacksAnswerInTheEnvelope(t *testing.T) {
	for _, key := range []string{"", "k3y-for-fallback-test"} {
		a := newAPI(t, Config{APIKey: key}, nil)
		tests := []struct {
			method, path string
			status       int
			body, allow  string
		}{
			{"GET", "/nothing-here", 404, `{"code":-404,"message":"no route /nothing-here"}`, ""},
			{"POST", "/goim/push", 404, `{"code":-404,"message":"no route /goim/push"}`, ""},
			{"GET", RoutePushKeys, 405, `{"code":-405,"message":"GET /goim/push/keys: method not allowed (allowed: POST)"}`, "POST"},
			{"DELETE", RouteOnlineTotal, 405, `{"code":-405,"message":"DELETE /goim/online/total: method not allowed (allowed: GET)"}`, "GET"},
		}
		for _, tt := range tests {
			req, err := http.NewRequest(tt.method, a.url+tt.path, nil)
			if err != nil {
				t.Fatal(err)
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
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != contentType || string(body) != tt.body {
				t.Errorf("key %q: %s %s: %d %q %s, want %d %q", key, tt.method, tt.path,
					resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status, tt.body)
			}
			if got := resp.Header.Get("Allow"); got != tt.allow {
				t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
			}
		}
	}
}
