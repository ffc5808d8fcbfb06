package app

import (
	"bytes"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/goim-edge/goim-edge/config"
)

// keepGC restores the process's GC settings when the test ends.
func keepGC(t *testing.T) {
	gogc := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(gogc)
		debug.SetMemoryLimit(limit)
	})
}

func TestApplyRuntime(t *testing.T) {
	tests := []struct {
		name      string
		rc        config.RuntimeConfig
		env       map[string]string
		before    [2]int64 // what the environment already put in effect
		wantGOGC  int64
		wantLimit int64
		wantLog   []string
	}{
		{
			name: "defaults", rc: config.DefaultRuntime(), before: [2]int64{50, 1 << 30},
			wantGOGC: 100, wantLimit: math.MaxInt64, wantLog: []string{"gogc=100", "memory_limit=none"},
		},
		{
			name: "config applied", rc: config.RuntimeConfig{GOGC: 40, MemoryLimit: "768MiB"}, before: [2]int64{100, math.MaxInt64},
			wantGOGC: 40, wantLimit: 768 << 20, wantLog: []string{"gogc=40", "memory_limit=805306368"},
		},
		{
			name: "gc off with a limit", rc: config.RuntimeConfig{GOGC: -1, MemoryLimit: "1GiB"}, before: [2]int64{100, math.MaxInt64},
			wantGOGC: -1, wantLimit: 1 << 30, wantLog: []string{"gogc=-1"},
		},
		{
			name: "gc off without a limit warns", rc: config.RuntimeConfig{GOGC: -1, MemoryLimit: "0"}, before: [2]int64{100, math.MaxInt64},
			wantGOGC: -1, wantLimit: math.MaxInt64, wantLog: []string{"level=WARN", "garbage collector off without a memory limit"},
		},
		{
			name: "environment wins", rc: config.RuntimeConfig{GOGC: 40, MemoryLimit: "768MiB"},
			env:    map[string]string{"GOGC": "200", "GOMEMLIMIT": "2GiB"},
			before: [2]int64{200, 2 << 30}, wantGOGC: 200, wantLimit: 2 << 30,
			wantLog: []string{"gogc=200", "memory_limit=2147483648", "from_env=GOGC,GOMEMLIMIT"},
		},
		{
			name: "GOMEMLIMIT alone wins", rc: config.RuntimeConfig{GOGC: 40, MemoryLimit: "768MiB"},
			env:    map[string]string{"GOMEMLIMIT": "2GiB"},
			before: [2]int64{100, 2 << 30}, wantGOGC: 40, wantLimit: 2 << 30,
			wantLog: []string{"gogc=40", "from_env=GOMEMLIMIT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keepGC(t)
			// Stand in for the runtime having read the environment at start.
			debug.SetGCPercent(int(tt.before[0]))
			debug.SetMemoryLimit(tt.before[1])
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			if err := applyRuntime(tt.rc, func(k string) string { return tt.env[k] }, log); err != nil {
				t.Fatal(err)
			}
			gogc, limit := runtimeGC()
			if gogc != tt.wantGOGC || limit != tt.wantLimit {
				t.Fatalf("in effect gogc=%d limit=%d, want %d %d", gogc, limit, tt.wantGOGC, tt.wantLimit)
			}
			for _, w := range tt.wantLog {
				if !strings.Contains(logs.String(), w) {
					t.Fatalf("log %q lacks %q", logs.String(), w)
				}
			}
		})
	}
}
