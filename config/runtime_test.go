package config

import (
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"off", 0, false},
		{"1048576", 1 << 20, false},
		{"512B", 512, false},
		{"64KiB", 64 << 10, false},
		{"512MiB", 512 << 20, false},
		{" 2GiB ", 2 << 30, false},
		{"1TiB", 1 << 40, false},
		{"8388607TiB", 8388607 << 40, false},
		{"8388608TiB", 0, true}, // 2^63: over MaxInt64
		{"512M", 0, true},       // GOMEMLIMIT has no SI units
		{"512MB", 0, true},
		{"1.5GiB", 0, true},
		{"-1", 0, true},
		{"+5", 0, true},
		{"MiB", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMemoryLimit(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseMemoryLimit(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("ParseMemoryLimit(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestRuntimeConfigLoad(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		env     []string
		sets    []string
		wantErr string
		gogc    int
		limit   int64
	}{
		{name: "defaults", gogc: 100},
		{name: "file", body: "[runtime]\ngogc = 50\nmemory_limit = \"1GiB\"\n", gogc: 50, limit: 1 << 30},
		{name: "gc off with a limit", body: "[runtime]\ngogc = -1\nmemory_limit = \"256MiB\"\n", gogc: -1, limit: 256 << 20},
		{name: "environment", env: []string{"GOIM_RUNTIME_GOGC=25", "GOIM_RUNTIME_MEMORY_LIMIT=300MiB"}, gogc: 25, limit: 300 << 20},
		{name: "flag", sets: []string{"runtime.memory_limit=2GiB"}, gogc: 100, limit: 2 << 30},
		{name: "gogc below -1", body: "[runtime]\ngogc = -2\n", wantErr: "runtime.gogc -2: must be >= -1"},
		{name: "bad limit", body: "[runtime]\nmemory_limit = \"512MB\"\n", wantErr: `runtime.memory_limit: "512MB"`},
		{name: "unknown runtime key", body: "[runtime]\ngomaxprocs = 2\n", wantErr: "runtime.gomaxprocs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Environ: tt.env, Sets: tt.sets}
			if tt.body != "" {
				o.File = writeFile(t, tt.body)
			}
			c, err := Load(o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			limit, err := c.Runtime.MemoryLimitBytes()
			if err != nil {
				t.Fatal(err)
			}
			if c.Runtime.GOGC != tt.gogc || limit != tt.limit {
				t.Fatalf("gogc %d limit %d, want %d %d", c.Runtime.GOGC, limit, tt.gogc, tt.limit)
			}
		})
	}
}
