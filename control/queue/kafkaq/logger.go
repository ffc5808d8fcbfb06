package kafkaq

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
)

// slogLogger sends franz-go's own logs to slog.Default at their level,
// minus debug chatter, so broker trouble shows up in the job's log.
type slogLogger struct{}

func (slogLogger) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (slogLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var l slog.Level
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	case kgo.LogLevelInfo:
		// franz-go logs every join and fetch session at info: debug for us.
		l = slog.LevelDebug
	default:
		return
	}
	slog.Default().Log(context.Background(), l, "kafka: "+msg, keyvals...)
}
