package obs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/hertz/pkg/common/hlog"
	"github.com/cloudwego/kitex/pkg/klog"
)

// Framework levels that slog lacks. Trace sits below Debug, Notice between
// Info and Warn, Fatal above Error.
const (
	levelTrace  = slog.LevelDebug - 4
	levelNotice = slog.LevelInfo + 2
	levelFatal  = slog.LevelError + 4
)

// bridge writes Kitex/Hertz log calls to a slog.Logger. Both frameworks
// have the same method set apart from their Level type, so kitexLogger and
// hertzLogger only add SetLevel.
type bridge struct {
	l     *slog.Logger
	min   atomic.Int64 // slog level below which records are dropped
	flood floodGuard
}

// bg is the context of framework log calls that carry none.
var bg = context.Background()

// exit ends the process after a framework's Fatal, as their own loggers do.
var exit = os.Exit

func (b *bridge) log(ctx context.Context, lvl slog.Level, line string) {
	if lvl < slog.Level(b.min.Load()) {
		return
	}
	msg, level, attrs := frameworkRecord(line, lvl)
	b.l.LogAttrs(ctx, level, msg, attrs...)
	if lvl >= levelFatal {
		exit(1)
	}
}

// logf logs a formatted framework record unless its format has flooded
// the log lately (Kitex logs every retry of every call, for instance).
func (b *bridge) logf(ctx context.Context, lvl slog.Level, format string, v []any) {
	if lvl < slog.Level(b.min.Load()) {
		return
	}
	if lvl < levelFatal {
		allow, suppressed := b.flood.allow(format, time.Now())
		if suppressed > 0 {
			b.l.Log(ctx, lvl, "suppressed repeated framework log records", "count", suppressed, "format", format)
		}
		if !allow {
			return
		}
	}
	b.log(ctx, lvl, fmt.Sprintf(format, v...))
}

func (b *bridge) Trace(v ...any)  { b.log(bg, levelTrace, fmt.Sprint(v...)) }
func (b *bridge) Debug(v ...any)  { b.log(bg, slog.LevelDebug, fmt.Sprint(v...)) }
func (b *bridge) Info(v ...any)   { b.log(bg, slog.LevelInfo, fmt.Sprint(v...)) }
func (b *bridge) Notice(v ...any) { b.log(bg, levelNotice, fmt.Sprint(v...)) }
func (b *bridge) Warn(v ...any)   { b.log(bg, slog.LevelWarn, fmt.Sprint(v...)) }
func (b *bridge) Error(v ...any)  { b.log(bg, slog.LevelError, fmt.Sprint(v...)) }
func (b *bridge) Fatal(v ...any)  { b.log(bg, levelFatal, fmt.Sprint(v...)) }

func (b *bridge) Tracef(f string, v ...any)  { b.logf(bg, levelTrace, f, v) }
func (b *bridge) Debugf(f string, v ...any)  { b.logf(bg, slog.LevelDebug, f, v) }
func (b *bridge) Infof(f string, v ...any)   { b.logf(bg, slog.LevelInfo, f, v) }
func (b *bridge) Noticef(f string, v ...any) { b.logf(bg, levelNotice, f, v) }
func (b *bridge) Warnf(f string, v ...any)   { b.logf(bg, slog.LevelWarn, f, v) }
func (b *bridge) Errorf(f string, v ...any)  { b.logf(bg, slog.LevelError, f, v) }
func (b *bridge) Fatalf(f string, v ...any)  { b.logf(bg, levelFatal, f, v) }

func (b *bridge) CtxTracef(ctx context.Context, f string, v ...any) {
	b.logf(ctx, levelTrace, f, v)
}
func (b *bridge) CtxDebugf(ctx context.Context, f string, v ...any) {
	b.logf(ctx, slog.LevelDebug, f, v)
}
func (b *bridge) CtxInfof(ctx context.Context, f string, v ...any) {
	b.logf(ctx, slog.LevelInfo, f, v)
}
func (b *bridge) CtxNoticef(ctx context.Context, f string, v ...any) {
	b.logf(ctx, levelNotice, f, v)
}
func (b *bridge) CtxWarnf(ctx context.Context, f string, v ...any) {
	b.logf(ctx, slog.LevelWarn, f, v)
}
func (b *bridge) CtxErrorf(ctx context.Context, f string, v ...any) {
	b.logf(ctx, slog.LevelError, f, v)
}
func (b *bridge) CtxFatalf(ctx context.Context, f string, v ...any) {
	b.logf(ctx, levelFatal, f, v)
}

// SetOutput is ignored: output is the slog handler's, set once at start.
func (b *bridge) SetOutput(io.Writer) {}

// kitexLogger is klog.FullLogger on top of slog.
type kitexLogger struct{ bridge }

var _ klog.FullLogger = (*kitexLogger)(nil)

// SetLevel sets the minimum level Kitex records pass.
func (k *kitexLogger) SetLevel(l klog.Level) { k.min.Store(int64(fromKitex(l))) }

// hertzLogger is hlog.FullLogger on top of slog.
type hertzLogger struct{ bridge }

var _ hlog.FullLogger = (*hertzLogger)(nil)

// SetLevel sets the minimum level Hertz records pass.
func (h *hertzLogger) SetLevel(l hlog.Level) { h.min.Store(int64(fromHertz(l))) }

func fromKitex(l klog.Level) slog.Level {
	switch l {
	case klog.LevelTrace:
		return levelTrace
	case klog.LevelDebug:
		return slog.LevelDebug
	case klog.LevelInfo:
		return slog.LevelInfo
	case klog.LevelNotice:
		return levelNotice
	case klog.LevelWarn:
		return slog.LevelWarn
	case klog.LevelError:
		return slog.LevelError
	default:
		return levelFatal
	}
}

func kitexLevel(l slog.Level) klog.Level {
	switch {
	case l <= levelTrace:
		return klog.LevelTrace
	case l <= slog.LevelDebug:
		return klog.LevelDebug
	case l <= slog.LevelInfo:
		return klog.LevelInfo
	case l <= levelNotice:
		return klog.LevelNotice
	case l <= slog.LevelWarn:
		return klog.LevelWarn
	case l <= slog.LevelError:
		return klog.LevelError
	default:
		return klog.LevelFatal
	}
}

func fromHertz(l hlog.Level) slog.Level {
	return fromKitex(klog.Level(l))
}

func hertzLevel(l slog.Level) hlog.Level {
	return hlog.Level(kitexLevel(l))
}

// Flood limits: at most floodBurst records per format string in each
// floodWindow; the rest are counted and reported with the first record
// of that format after the window.
const (
	floodWindow = 10 * time.Second
	floodBurst  = 10
	floodKeys   = 1024
)

// floodGuard rate-limits framework records by format string, so a dead
// peer that makes Kitex log every retry cannot drown everything else.
type floodGuard struct {
	mu   sync.Mutex
	keys map[string]*floodCount
}

type floodCount struct {
	start      time.Time
	n          int
	suppressed int
}

// allow reports whether a record with this format may be logged now, and
// how many were suppressed in the window that just ended.
func (g *floodGuard) allow(format string, now time.Time) (ok bool, suppressed int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keys == nil {
		g.keys = make(map[string]*floodCount)
	}
	c := g.keys[format]
	if c == nil {
		if len(g.keys) >= floodKeys {
			clear(g.keys) // formats are static strings; this only bounds misuse
		}
		c = &floodCount{start: now}
		g.keys[format] = c
	}
	if now.Sub(c.start) >= floodWindow {
		suppressed = c.suppressed
		c.start, c.n, c.suppressed = now, 0, 0
	}
	if c.n >= floodBurst {
		c.suppressed++
		return false, suppressed
	}
	c.n++
	return true, suppressed
}
