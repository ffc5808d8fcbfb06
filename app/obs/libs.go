package obs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/redis/go-redis/v9"
)

// routeLibraryLogs sends what netpoll and go-redis print on their own
// loggers (to stderr by default) through slog as well, at warn: they only
// speak up when something is wrong (a poller error, a failed dial).
func routeLibraryLogs(l *slog.Logger) {
	netpoll.SetLoggerOutput(&lineWriter{l: l.With("lib", "netpoll"), level: slog.LevelWarn})
	redis.SetLogger(redisLogger{l: l.With("lib", "go-redis")})
}

// lineWriter turns a std log.Logger's lines into slog records.
type lineWriter struct {
	l     *slog.Logger
	level slog.Level
}

// stdLogTime is the prefix log.LstdFlags writes; slog has its own time.
const stdLogTime = "2006/01/02 15:04:05 "

func (w *lineWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		if len(line) > len(stdLogTime) {
			if _, err := time.Parse(stdLogTime, string(line[:len(stdLogTime)])); err == nil {
				line = line[len(stdLogTime):]
			}
		}
		if len(line) > 0 {
			w.l.Log(context.Background(), w.level, string(line))
		}
	}
	return len(p), nil
}

// redisLogger is go-redis's internal.Logging on slog.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	r.l.Log(ctx, slog.LevelWarn, fmt.Sprintf(format, v...))
}
