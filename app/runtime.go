package app

import (
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strings"

	"github.com/goim-edge/goim-edge/config"
)

// applyRuntime puts [runtime] gogc and memory_limit in effect. GOGC and
// GOMEMLIMIT in the environment (getenv), which the Go runtime applied
// when the process started, win: operators and container platforms that
// already set them keep their values.
func applyRuntime(rc config.RuntimeConfig, getenv func(string) string, log *slog.Logger) error {
	limit, err := rc.MemoryLimitBytes()
	if err != nil {
		return err
	}
	var fromEnv []string
	if getenv("GOGC") != "" {
		fromEnv = append(fromEnv, "GOGC")
	} else {
		debug.SetGCPercent(rc.GOGC)
	}
	if getenv("GOMEMLIMIT") != "" {
		fromEnv = append(fromEnv, "GOMEMLIMIT")
	} else {
		if limit == 0 {
			limit = math.MaxInt64 // the runtime's "no limit"
		}
		debug.SetMemoryLimit(limit)
	}
	gogc, memLimit := runtimeGC()
	attrs := []any{"gogc", gogc, "memory_limit", "none"}
	if memLimit != math.MaxInt64 {
		attrs[3] = memLimit
	}
	if len(fromEnv) > 0 {
		attrs = append(attrs, "from_env", strings.Join(fromEnv, ","))
	}
	log.Info("go runtime", attrs...)
	if gogc < 0 && memLimit == math.MaxInt64 {
		log.Warn("garbage collector off without a memory limit: the heap grows until the process is killed; set runtime.memory_limit (or GOMEMLIMIT)")
	}
	return nil
}

// runtimeGC reads the GC percent and memory limit in effect.
func runtimeGC() (gogc, memLimit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}
