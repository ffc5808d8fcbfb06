package kafkaq

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
)

// slogLogger sends franz-go's own logs to the producer's or consumer's
// logger at their level, minus debug chatter, so broker trouble shows up
// in the logic's or job's log.
type slogLogger struct{ l *slog.Logger }

func (slogLogger) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (s slogLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
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
	s.l.Log(context.Background(), l, "kafka: "+msg, keyvals...)
}
