package obs

import (
	"log/slog"
	"testing"
)

// TestFrameworkRecord: the frameworks' own line formats become a message
// with fields, at a level by cause.
func TestFrameworkRecord(t *testing.T) {
	tests := []struct {
		line   string
		lvl    slog.Level
		msg    string
		level  slog.Level
		fields map[string]string
	}{
		{"KITEX: processing request error, remoteService=goim.edge, remoteAddr=10.0.0.1:5000, error=rpcauth: Logic call refused: wrong rpc secret (rpc.secret)",
			slog.LevelError, "processing request error", slog.LevelWarn,
			map[string]string{"remote_service": "goim.edge", "remote_addr": "10.0.0.1:5000", "err": "rpcauth: Logic call refused: wrong rpc secret (rpc.secret)"}},
		{"KITEX: processing request error, remoteService=, remoteAddr=10.0.0.1:5000, error=read: connection reset by peer",
			slog.LevelError, "processing request error", slog.LevelDebug,
			map[string]string{"remote_addr": "10.0.0.1:5000", "err": "read: connection reset by peer"}},
		{"KITEX: processing request error, remoteService=x, remoteAddr=10.0.0.1:5000, error=store: redis: i/o timeout, a=b\nstack=goroutine 1",
			slog.LevelError, "processing request error", slog.LevelError, // this process's own failure
			map[string]string{"remote_service": "x", "remote_addr": "10.0.0.1:5000", "err": "store: redis: i/o timeout, a=b", "stack": "goroutine 1"}},
		{"HERTZ: Error=error when reading request headers: malformed HTTP request. Buffer size=19, contents: \"x\", remoteAddr=10.0.0.2:6000",
			slog.LevelError, "connection error", slog.LevelWarn,
			map[string]string{"err": "error when reading request headers: malformed HTTP request. Buffer size=19, contents: \"x\"", "remote_addr": "10.0.0.2:6000"}},
		{"HERTZ: Error=read timeout, remoteAddr=10.0.0.2:6000", slog.LevelError, "connection error", slog.LevelDebug,
			map[string]string{"err": "read timeout", "remote_addr": "10.0.0.2:6000"}},
		{"KITEX: server listen failed, addr=:3109 error=address already in use", slog.LevelError, "server listen failed", slog.LevelError,
			map[string]string{"addr": ":3109", "err": "address already in use"}},
		{"HERTZ: HTTP server listening on address=127.0.0.1:3111", slog.LevelInfo, "HTTP server listening on", slog.LevelInfo,
			map[string]string{"address": "127.0.0.1:3111"}},
		{"plain words, no fields", slog.LevelWarn, "plain words, no fields", slog.LevelWarn, map[string]string{}},
	}
	for _, tt := range tests {
		msg, level, attrs := frameworkRecord(tt.line, tt.lvl)
		got := map[string]string{}
		for _, a := range attrs {
			got[a.Key] = a.Value.String()
		}
		if msg != tt.msg || level != tt.level || len(got) != len(tt.fields) {
			t.Errorf("%q: %q %v %v, want %q %v %v", tt.line, msg, level, got, tt.msg, tt.level, tt.fields)
			continue
		}
		for k, v := range tt.fields {
			if got[k] != v {
				t.Errorf("%q: field %s = %q, want %q", tt.line, k, got[k], v)
			}
		}
	}
}
