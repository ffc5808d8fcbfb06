// Package obs is what every role shares for operating it: slog setup with
// Kitex's and Hertz's loggers routed into it, /healthz and /readyz, the
// Prometheus /metrics endpoint and RPC latency metrics.
package obs

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/cloudwego/hertz/pkg/common/hlog"
	"github.com/cloudwego/kitex/pkg/klog"
)

// LogOptions is how the process logs.
type LogOptions struct {
	// Level is debug, info, warn or error.
	Level string
	// Format is text or json.
	Format string
	// AddSource adds file:line to records.
	AddSource bool
}

// ParseLevel maps a level name to slog's level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("obs: log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger builds a slog logger writing to w.
func NewLogger(w io.Writer, o LogOptions) (*slog.Logger, error) {
	lvl, err := ParseLevel(o.Level)
	if err != nil {
		return nil, err
	}
	ho := &slog.HandlerOptions{Level: lvl, AddSource: o.AddSource}
	var h slog.Handler
	switch o.Format {
	case "", "text":
		h = slog.NewTextHandler(w, ho)
	case "json":
		h = slog.NewJSONHandler(w, ho)
	default:
		return nil, fmt.Errorf("obs: log format %q: want text or json", o.Format)
	}
	return slog.New(h), nil
}

// SetupLogging makes l the default logger (which also carries the std log
// package's output) and routes Kitex's klog, Hertz's hlog, netpoll's and
// go-redis's loggers into it, so the whole process logs one format to one
// place.
// The framework loggers get the same minimum level.
func SetupLogging(l *slog.Logger, level slog.Level) {
	slog.SetDefault(l)
	kl := &kitexLogger{bridge{l: l.With("lib", "kitex")}}
	klog.SetLogger(kl)
	klog.SetLevel(kitexLevel(level))
	hl := &hertzLogger{bridge{l: l.With("lib", "hertz")}}
	hlog.SetLogger(hl)
	hlog.SetLevel(hertzLevel(level))
	routeLibraryLogs(l)
}
