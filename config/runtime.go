package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// RuntimeConfig tunes the Go garbage collector of the process. The GOGC
// and GOMEMLIMIT environment variables, when set, win over these keys.
type RuntimeConfig struct {
	// GOGC is the collector's target: a collection starts when the heap
	// has grown by this percentage over what the last one left live
	// (debug.SetGCPercent). Lower trades CPU for memory; -1 turns the
	// collector off until memory_limit is near.
	GOGC int `toml:"gogc"`
	// MemoryLimit is the soft memory limit (debug.SetMemoryLimit) in
	// GOMEMLIMIT's syntax: bytes with an optional unit B, KiB, MiB, GiB or
	// TiB, e.g. "512MiB". Near it the collector runs more often, whatever
	// gogc says. "0" (or "off") sets no limit.
	MemoryLimit string `toml:"memory_limit"`
}

// DefaultRuntime is the Go runtime's own default: GOGC=100, no limit.
func DefaultRuntime() RuntimeConfig { return RuntimeConfig{GOGC: 100, MemoryLimit: "0"} }

// MemoryLimitBytes is MemoryLimit in bytes; 0 means no limit.
func (r RuntimeConfig) MemoryLimitBytes() (int64, error) {
	return ParseMemoryLimit(r.MemoryLimit)
}

// Validate checks gogc and memory_limit.
func (r RuntimeConfig) Validate() error {
	if r.GOGC < -1 {
		return fmt.Errorf("runtime.gogc %d: must be >= -1 (-1 turns the collector off)", r.GOGC)
	}
	if _, err := r.MemoryLimitBytes(); err != nil {
		return fmt.Errorf("runtime.memory_limit: %w", err)
	}
	return nil
}

// memoryUnits are GOMEMLIMIT's units, longest suffix first.
var memoryUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// ParseMemoryLimit parses a byte count the way the Go runtime parses
// GOMEMLIMIT: a non-negative integer with an optional unit B, KiB, MiB,
// GiB or TiB ("512MiB", "1073741824"). "", "0" and "off" mean no limit (0).
func ParseMemoryLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return 0, nil
	}
	num, shift := s, uint(0)
	for _, u := range memoryUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = n, u.shift
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 63)
	if err != nil || num == "" || num[0] == '+' {
		return 0, fmt.Errorf("%q: want bytes as a whole number with an optional unit B, KiB, MiB, GiB or TiB, e.g. \"512MiB\"", s)
	}
	if n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q: too large", s)
	}
	return int64(n << shift), nil
}
